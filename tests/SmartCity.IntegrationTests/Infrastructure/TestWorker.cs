using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Source;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// The real worker (same composition root as Program.cs) in this process, pointed at the test
/// servers with a topic root, client id and database of its own.
/// </summary>
public sealed class TestWorker : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestWorker(WebApplication app, string topicRoot, LogCapture logs)
    {
        _app = app;
        TopicRoot = topicRoot;
        Logs = logs;
    }

    public string TopicRoot { get; }

    public LogCapture Logs { get; }

    public PipelineMetrics Metrics => _app.Services.GetRequiredService<PipelineMetrics>();

    public DeadLetters DeadLetters => _app.Services.GetRequiredService<DeadLetters>();

    public SmartCity.Telemetry.Source.MqttSource Source => _app.Services.GetRequiredService<SmartCity.Telemetry.Source.MqttSource>();

    public Uri BaseAddress => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>The broker as test publishers see it: the harness account, which may publish anywhere.</summary>
    public static BrokerEndpoint Broker => new(TestServers.MqttHost, TestServers.MqttPort, TestServers.MqttUsername, TestServers.MqttPassword);

    /// <summary>Settings every test worker gets; <paramref name="overrides"/> win.</summary>
    public static Dictionary<string, string?> Settings(InfluxTestDatabase db, string topicRoot, string clientId) => new(TestApiKeys.Settings())
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Mqtt:Host"] = TestServers.MqttHost,
        ["Mqtt:Port"] = TestServers.MqttPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Mqtt:ClientId"] = clientId,
        // The worker's restricted account, as in production: every test shows it is enough.
        ["Mqtt:Username"] = TestServers.MqttWorkerUsername,
        ["Mqtt:Password"] = TestServers.MqttWorkerPassword,
        ["Mqtt:Subscriptions:0"] = topicRoot + "/#",
        ["Mqtt:ReconnectMaxDelay"] = "00:00:01",
        ["Decoding:TopicRoot"] = topicRoot,
        ["Influx:Url"] = TestServers.InfluxUrl,
        ["Influx:Token"] = TestServers.InfluxToken,
        ["Influx:Org"] = TestServers.InfluxOrg,
        ["Influx:Bucket"] = db.Name,
        ["Influx:RetryMaxDelay"] = "00:00:02",
        ["Spool:Directory"] = Path.Combine(DataDirectory(clientId), "spool"),
        ["Registry:File"] = Path.Combine(DataDirectory(clientId), "registry.json"),
        ["Alerting:StateFile"] = Path.Combine(DataDirectory(clientId), "alerts.json"),
        ["Lighting:StateFile"] = Path.Combine(DataDirectory(clientId), "lighting.json"),
    };

    /// <summary>Each worker (client id) has its own spool and registry; a restarted worker with the same id finds them again.</summary>
    public static string DataDirectory(string clientId) => Path.Combine(Path.GetTempPath(), "smartcity-it-data", clientId);

    /// <param name="time">The worker's clock (a FakeTimeProvider for days of device time in seconds); null: the system clock.</param>
    public static async Task<TestWorker> StartAsync(InfluxTestDatabase db, string? topicRoot = null, string? clientId = null, IDictionary<string, string?>? overrides = null, TimeProvider? time = null)
    {
        topicRoot ??= TestServers.UniqueName("t") + "/city";
        clientId ??= TestServers.UniqueName("worker-");
        var settings = Settings(db, topicRoot, clientId);
        foreach (var (k, v) in overrides ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }

        var logs = new LogCapture();
        var app = WorkerHost.Build([], builder =>
        {
            builder.Configuration.AddInMemoryCollection(settings);
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Information);
            builder.Logging.AddProvider(logs);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        });
        await app.StartAsync();
        var worker = new TestWorker(app, topicRoot, logs);
        // Started means subscribed: messages published from here on reach the session.
        await worker.Metrics.WaitUntilAsync(s => s.SourceConnected, TimeSpan.FromSeconds(120)); // a loaded machine connects late
        return worker;
    }

    public IServiceProvider Services => _app.Services;

    /// <summary>An HTTP client for the worker's API with the test key of <paramref name="key"/> (default: a viewer; null: anonymous).</summary>
    public HttpClient CreateClient(TestApiKeys.TestKey? key) => TestApiKeys.Client(BaseAddress, key);

    public HttpClient CreateClient() => CreateClient(TestApiKeys.Viewer);

    public async Task StopAsync() => await _app.StopAsync();

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

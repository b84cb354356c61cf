using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests.Api;

/// <summary>What the operator-API tests share: a raised alert, problem bodies, a worker with hand-made settings.</summary>
internal static class ApiTestKit
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>A worker pointed at an InfluxDB that is down (a closed port, returned too): its first write fails within a second.</summary>
    public static async Task<(TestWorker Worker, string Port)> StartWithInfluxDownAsync(InfluxTestDatabase db)
    {
        var port = ClosedPort().ToString(CultureInfo.InvariantCulture);
        var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Influx:Url"] = $"http://127.0.0.1:{port}",
            // Its own counters reach the sink within a second: a write fails with no device needed.
            ["PipelineReport:Interval"] = "00:00:01",
        });
        return (worker, port);
    }

    /// <summary>Polls GET <paramref name="path"/> until <paramref name="until"/> holds for its status and body; returns that body.</summary>
    public static async Task<string> PollAsync(HttpClient client, string path, Func<HttpStatusCode, string, bool> until)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            using (var response = await client.GetAsync(new Uri(path, UriKind.Relative), cts.Token))
            {
                var body = await response.Content.ReadAsStringAsync(cts.Token);
                if (until(response.StatusCode, body))
                {
                    return body;
                }
            }

            await Task.Delay(100, cts.Token);
        }
    }

    /// <summary>
    /// A door announces itself and is forced open through the real broker; returns the raised alert's id.
    /// Tests that share a worker give each raise a door of its own (<paramref name="deviceId"/>): a door
    /// with an open alert only counts another occurrence.
    /// </summary>
    public static async Task<string> RaiseDoorForcedAsync(TestWorker worker, string district, string deviceId = "door-0001")
    {
        await using var door = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("door-"), CancellationToken.None);
        var topic = $"{worker.TopicRoot}/security/{district}/town-hall/door_contact/{deviceId}";
        var now = DateTimeOffset.UtcNow;
        await PublishAsync(door, topic + "/status", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-2))}}","online":true,"profile":"door_contact","district":"{{district}}","site":"town-hall"}""", retain: true);
        await PublishAsync(door, topic + "/event", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-1))}}","event":"forced","detail":"contact broken open"}""");

        var alerting = worker.Services.GetRequiredService<AlertingService>();
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            // The transition is written through the spool: every alert change is followed by a batch.
            var next = worker.Metrics.NextProgressAsync(Timeout);
            if ((await alerting.AlertsAsync()).FirstOrDefault(a => a.District == district && a.Rule == "door_forced") is { } alert)
            {
                return alert.Id;
            }

            await next.WaitAsync(cts.Token);
        }
    }

    /// <summary>The response's ProblemDetails body, checking its media type and status.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal((int)expected, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()));
        return problem;
    }

    /// <summary>The worker's composition root with exactly <paramref name="settings"/> (no test keys unless given), logging into <paramref name="logs"/>; not started.</summary>
    public static WebApplication Build(IDictionary<string, string?> settings, LogCapture logs) => WorkerHost.Build([], builder =>
    {
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddProvider(logs);
    });

    public static Uri BaseAddress(WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    /// <summary>A loopback port nobody listens on (connections are refused).</summary>
    public static int ClosedPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Ts(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static Task PublishAsync(MqttPublisher publisher, string topic, string json, bool retain = false) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, retain, CancellationToken.None);
}

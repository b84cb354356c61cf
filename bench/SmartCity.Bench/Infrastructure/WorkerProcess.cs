using System.Globalization;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;

namespace SmartCity.Bench.Infrastructure;

/// <summary>The counters of /api/pipeline that the benchmark reads.</summary>
public sealed record WorkerCounters(
    long Received,
    long Accepted,
    long Rejected,
    long PointsWritten,
    long DeadLettersWritten,
    long Acknowledged,
    long WriteFailures,
    long SpoolDepth,
    double SpoolOldestAgeSeconds,
    long SpoolFullEvents,
    IReadOnlyDictionary<string, long> RejectedByReason)
{
    public long Stored => PointsWritten + DeadLettersWritten;
}

/// <summary>
/// The real worker (src/SmartCity.Worker) as its own process, configured only through its
/// documented SMARTCITY_ environment variables, exactly as an operator would run it.
/// </summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    /// <summary>The benchmark reads /api/pipeline as this viewer (the API is closed without a key).</summary>
    private static readonly string ApiKey = "bench-viewer-" + Guid.NewGuid().ToString("N");

    private readonly ChildProcess _process;
    private readonly HttpClient _http;

    private WorkerProcess(ChildProcess process, HttpClient http, string api, string clientId)
    {
        _process = process;
        _http = http;
        Api = api;
        ClientId = clientId;
    }

    /// <summary>The variant setting naming another build's SmartCity.Worker.dll.</summary>
    public const string OtherWorkerSetting = "BENCH_WORKER_DLL";

    public int Pid => _process.Pid;

    public string Api { get; }

    public string ClientId { get; }

    public static WorkerProcess Start(BenchEnvironment env, HttpClient http, string name, string bucket, string influxUrl, IReadOnlyDictionary<string, string> settings)
    {
        var port = FreePort();
        var clientId = $"bench-{name}-{bucket}";
        var spool = Path.Combine(env.WorkDirectory, "spool-" + clientId);
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["SMARTCITY_Urls"] = $"http://127.0.0.1:{port}",
            ["SMARTCITY_Mqtt__Host"] = env.MqttHost,
            ["SMARTCITY_Mqtt__Port"] = env.MqttPort.ToString(CultureInfo.InvariantCulture),
            ["SMARTCITY_Mqtt__ClientId"] = clientId,
            ["SMARTCITY_Influx__Url"] = influxUrl,
            ["SMARTCITY_Influx__Token"] = env.InfluxToken,
            ["SMARTCITY_Influx__Org"] = env.InfluxOrg,
            ["SMARTCITY_Influx__Bucket"] = bucket,
            // Every file the worker keeps is its own: no state shared between phases or runs.
            ["SMARTCITY_Spool__Directory"] = spool,
            ["SMARTCITY_Registry__File"] = Path.Combine(env.WorkDirectory, $"registry-{clientId}.json"),
            ["SMARTCITY_Alerting__StateFile"] = Path.Combine(env.WorkDirectory, $"alerts-{clientId}.json"),
            ["SMARTCITY_Lighting__StateFile"] = Path.Combine(env.WorkDirectory, $"lighting-{clientId}.json"),
            ["SMARTCITY_Api__Keys__0__Name"] = "bench",
            ["SMARTCITY_Api__Keys__0__Role"] = "viewer",
            ["SMARTCITY_Api__Keys__0__Key"] = ApiKey,
            // The benchmark polls the counters often; the default limit is for people.
            ["SMARTCITY_Api__RateLimit__PermitLimit"] = "1000000",
            ["Logging__LogLevel__Default"] = "Warning",
            ["Logging__LogLevel__SmartCity"] = "Warning",
        };
        if (BenchEnvironment.BrokerAccount() is ({ } user, { } password))
        {
            // The harness account: the bench's phases use topic roots (s.../#, m.../#) that the
            // restricted worker account may not read; the ACL check costs the same either way.
            environment["SMARTCITY_Mqtt__Username"] = user;
            environment["SMARTCITY_Mqtt__Password"] = password;
        }

        foreach (var (key, value) in settings)
        {
            environment[key] = value;
        }

        // A variant may run another build of the worker (BENCH_WORKER_DLL=path): a before/after
        // comparison of two commits on the same load, in the same run, on the same machine state.
        var dll = settings.TryGetValue(OtherWorkerSetting, out var other) ? other : Path.Combine(AppContext.BaseDirectory, "SmartCity.Worker.dll");
        var process = ChildProcess.StartDotnet(dll, [], Path.Combine(env.LogDirectory, $"worker-{name}-{bucket}.log"), environment);
        return new WorkerProcess(process, http, $"http://127.0.0.1:{port}", clientId);
    }

    public async Task WaitHealthyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"worker exited during start-up (log: {_process.LogPath})");
            }

            try
            {
                using var response = await _http.GetAsync(new Uri(Api + "/healthz"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"worker not healthy within {timeout.TotalSeconds:F0} s (log: {_process.LogPath})");
    }

    public async Task<WorkerCounters?> CountersAsync()
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(Api + "/api/pipeline")) { Headers = { { "X-Api-Key", ApiKey } } };
            using var response = await _http.SendAsync(request);
            var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            var reasons = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var p in json.GetProperty("rejectedByReason").EnumerateObject())
            {
                reasons[p.Name] = p.Value.GetInt64();
            }

            return new WorkerCounters(
                json.GetProperty("received").GetInt64(),
                json.GetProperty("accepted").GetInt64(),
                json.GetProperty("rejected").GetInt64(),
                json.GetProperty("pointsWritten").GetInt64(),
                json.GetProperty("deadLettersWritten").GetInt64(),
                json.GetProperty("acknowledged").GetInt64(),
                json.GetProperty("writeFailures").GetInt64(),
                json.GetProperty("spoolDepth").GetInt64(),
                json.GetProperty("spoolOldestAgeSeconds").GetDouble(),
                json.GetProperty("spoolFullEvents").GetInt64(),
                reasons);
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException)
        {
            return null;
        }
    }

    public long PeakRssKb => ProcStats.PeakRssKb(Pid) ?? 0;

    /// <summary>Stops the worker and removes its persistent session, so later phases do not queue messages for it.</summary>
    public async Task StopAsync(BenchEnvironment env)
    {
        await _process.StopAsync(TimeSpan.FromSeconds(10));
        await ClearSessionAsync(env, ClientId);
    }

    /// <summary>Connects with the client id, clean start, and leaves with session expiry 0: the broker forgets the session.</summary>
    public static async Task ClearSessionAsync(BenchEnvironment env, string clientId)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        var (user, password) = BenchEnvironment.BrokerAccount();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(env.MqttHost, env.MqttPort)
            .WithCredentials(user, password)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithSessionExpiryInterval(0)
            .Build();
        await client.ConnectAsync(options);
        await client.DisconnectAsync();
    }

    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync() => await _process.DisposeAsync();
}

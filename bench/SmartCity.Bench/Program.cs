using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Bench;

/// <summary>
/// End-to-end throughput: the simulator in load mode -> real mosquitto -> the worker as its own
/// process -> real InfluxDB. Counts stored points with InfluxQL, so "throughput" means stored, not sent.
/// Run through bench/run-e2e.sh, which starts the servers (the same scripts the tests use).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var messages = ArgInt(args, "--messages", 200_000);
        var lamps = ArgInt(args, "--lamps", 1_000);
        var inFlight = ArgInt(args, "--in-flight", 64);
        var env = (string name) => Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} not set: run bench/run-e2e.sh");
        var mqttHost = env("SMARTCITY_TEST_MQTT_HOST");
        var mqttPort = int.Parse(env("SMARTCITY_TEST_MQTT_PORT"), CultureInfo.InvariantCulture);
        var influxUrl = env("SMARTCITY_TEST_INFLUX_URL").TrimEnd('/');
        var database = "bench_" + Guid.NewGuid().ToString("N")[..8];
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        (await http.PostAsync($"{influxUrl}/query", new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = $"CREATE DATABASE {database}" }))).EnsureSuccessStatusCode();

        var workerPort = FreePort();
        using var worker = StartWorker(mqttHost, mqttPort, influxUrl, database, workerPort, env("SMARTCITY_TEST_INFLUX_TOKEN"), env("SMARTCITY_TEST_INFLUX_ORG"));
        try
        {
            var api = $"http://127.0.0.1:{workerPort}";
            await WaitAsync(async () => (await TryGetAsync(http, $"{api}/healthz"))?.GetProperty("status").GetString() == "ok", TimeSpan.FromSeconds(60), "worker healthy");

            Console.WriteLine($"e2e: {messages:N0} street-light messages from {lamps:N0} lamps, QoS 1, {inFlight} in flight, worker pid {worker.Id}");
            var clock = Stopwatch.StartNew();
            var publish = LightingSimulation.RunAsync(new LightingSimulationOptions
            {
                Broker = new BrokerEndpoint(mqttHost, mqttPort),
                Lamps = lamps,
                Messages = messages,
                Rate = 0,
                InFlight = inFlight,
                Interval = TimeSpan.FromSeconds(60),
                ClientId = "bench-sim-" + database,
            });
            long written = 0;
            await WaitAsync(async () =>
            {
                written = (await TryGetAsync(http, $"{api}/api/pipeline"))?.GetProperty("pointsWritten").GetInt64() ?? written;
                return written >= messages;
            }, TimeSpan.FromMinutes(10), $"{messages} points written");
            var stored = clock.Elapsed;
            var sim = await publish;

            var count = await CountAsync(http, influxUrl, database);
            var rate = messages / stored.TotalSeconds;
            Console.WriteLine($"published {sim.Published:N0} in {sim.Elapsed.TotalSeconds:F2} s ({sim.Rate:N0} msg/s, {sim.Failed} failed)");
            Console.WriteLine($"stored    {count:N0} points (InfluxQL count) in {stored.TotalSeconds:F2} s from first publish");
            Console.WriteLine($"RESULT end_to_end_msgs_per_s={rate:F0} published={sim.Published} stored={count} lost={sim.Published - count}");
            return count == sim.Published ? 0 : 1;
        }
        finally
        {
            worker.Kill(entireProcessTree: true);
            await worker.WaitForExitAsync();
            await http.PostAsync($"{influxUrl}/query", new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = $"DROP DATABASE {database}" }));
        }
    }

    private static Process StartWorker(string mqttHost, int mqttPort, string influxUrl, string database, int port, string token, string org)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "SmartCity.Worker.dll");
        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = false, WorkingDirectory = AppContext.BaseDirectory };
        start.Environment["SMARTCITY_Urls"] = $"http://127.0.0.1:{port}";
        start.Environment["SMARTCITY_Mqtt__Host"] = mqttHost;
        start.Environment["SMARTCITY_Mqtt__Port"] = mqttPort.ToString(CultureInfo.InvariantCulture);
        start.Environment["SMARTCITY_Mqtt__ClientId"] = "bench-worker-" + database;
        start.Environment["SMARTCITY_Influx__Url"] = influxUrl;
        start.Environment["SMARTCITY_Influx__Token"] = token;
        start.Environment["SMARTCITY_Influx__Org"] = org;
        start.Environment["SMARTCITY_Influx__Bucket"] = database;
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        return Process.Start(start)!;
    }

    private static async Task<long> CountAsync(HttpClient http, string influxUrl, string database)
    {
        var json = await http.GetFromJsonAsync<JsonElement>($"{influxUrl}/query?db={database}&q={Uri.EscapeDataString("SELECT count(power_w) FROM street_light")}");
        var result = json.GetProperty("results")[0];
        return result.TryGetProperty("series", out var s) ? s[0].GetProperty("values")[0][1].GetInt64() : 0;
    }

    private static async Task<JsonElement?> TryGetAsync(HttpClient http, string url)
    {
        try
        {
            using var response = await http.GetAsync(url);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
        {
            return null;
        }
    }

    /// <summary>Polls a condition every 50 ms (a benchmark, not a test: polling is the measurement).</summary>
    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"timed out waiting for {what}");
            }

            await Task.Delay(50);
        }
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static int ArgInt(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }
}

using System.Globalization;

namespace SmartCity.Bench.Infrastructure;

/// <summary>What scripts/servers.sh started (servers.env) and where this run keeps its files.</summary>
public sealed class BenchEnvironment
{
    public required string MqttHost { get; init; }

    public required int MqttPort { get; init; }

    public required string InfluxUrl { get; init; }

    public required string InfluxToken { get; init; }

    public required string InfluxOrg { get; init; }

    /// <summary>The servers' run folder (pids/, logs/), when servers.sh started them.</summary>
    public string? ServersRunDirectory { get; init; }

    public required string WorkDirectory { get; init; }

    public string LogDirectory => Path.Combine(WorkDirectory, "logs");

    /// <summary>
    /// The broker account every bench client uses (servers.sh's `harness`, all rights: a benchmark
    /// measures throughput, not the ACL), from servers.env; none when the broker takes anonymous clients.
    /// Read from the environment so the bench's child processes find it without passwords on their command lines.
    /// </summary>
    public static (string? Username, string? Password) BrokerAccount() =>
        (Environment.GetEnvironmentVariable("SMARTCITY_TEST_MQTT_USERNAME"), Environment.GetEnvironmentVariable("SMARTCITY_TEST_MQTT_PASSWORD"));

    public static BenchEnvironment FromEnvironment(string? workDirectory)
    {
        static string Required(string name) =>
            Environment.GetEnvironmentVariable(name) ?? throw new InvalidOperationException($"{name} is not set: run bench/run.sh, which starts the servers");

        var work = workDirectory ?? Path.Combine(Path.GetTempPath(), "smartcity-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path.Combine(work, "logs"));
        return new BenchEnvironment
        {
            MqttHost = Required("SMARTCITY_TEST_MQTT_HOST"),
            MqttPort = int.Parse(Required("SMARTCITY_TEST_MQTT_PORT"), CultureInfo.InvariantCulture),
            InfluxUrl = Required("SMARTCITY_TEST_INFLUX_URL").TrimEnd('/'),
            InfluxToken = Required("SMARTCITY_TEST_INFLUX_TOKEN"),
            InfluxOrg = Required("SMARTCITY_TEST_INFLUX_ORG"),
            ServersRunDirectory = Environment.GetEnvironmentVariable("SMARTCITY_TEST_RUN_DIR"),
            WorkDirectory = work,
        };
    }

    /// <summary>Pid of a server started by servers.sh (its process-group leader), if known.</summary>
    public int? ServerPid(string server)
    {
        if (ServersRunDirectory is null)
        {
            return null;
        }

        var file = Path.Combine(ServersRunDirectory, "pids", server + ".pid");
        return File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    /// <summary>Server processes by name: mosquitto, influxd, and nginx (master and workers).</summary>
    public Dictionary<string, IReadOnlyList<int>> ServerProcesses()
    {
        var result = new Dictionary<string, IReadOnlyList<int>>(StringComparer.Ordinal);
        if (ServerPid("mosquitto") is { } m)
        {
            result["mosquitto"] = [m];
        }

        if (ServerPid("influxdb") is { } i)
        {
            result["influxd"] = [i];
        }

        if (ServerPid("nginx") is { } n)
        {
            result["nginx"] = ProcStats.ProcessGroup(n);
        }

        return result;
    }
}

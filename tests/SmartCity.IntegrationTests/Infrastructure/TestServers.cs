namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// The real servers the integration tests run against, as started by scripts/test.sh (see
/// scripts/servers.sh). A missing variable fails the test loudly: these tests never skip.
/// </summary>
public static class TestServers
{
    public static string MqttHost => Required("SMARTCITY_TEST_MQTT_HOST");

    public static int MqttPort => int.Parse(Required("SMARTCITY_TEST_MQTT_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The broker's TLS listener (certificate signed by <see cref="MqttCaFile"/>).</summary>
    public static int MqttTlsPort => int.Parse(Required("SMARTCITY_TEST_MQTT_TLS_PORT"), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The development CA (scripts/dev-ca.sh) that signed the TLS listener's certificate.</summary>
    public static string MqttCaFile => Required("SMARTCITY_TEST_MQTT_CA_FILE");

    /// <summary>The broker has no anonymous access. This account (harness) may do everything: test publishers and subscribers.</summary>
    public static string MqttUsername => Required("SMARTCITY_TEST_MQTT_USERNAME");

    public static string MqttPassword => Required("SMARTCITY_TEST_MQTT_PASSWORD");

    /// <summary>The worker's own account: reads device topics, writes alert states, nothing else.</summary>
    public static string MqttWorkerUsername => Required("SMARTCITY_TEST_MQTT_WORKER_USERNAME");

    public static string MqttWorkerPassword => Required("SMARTCITY_TEST_MQTT_WORKER_PASSWORD");

    /// <summary>The broker's password and ACL files, for tests that provision devices (then reload the broker).</summary>
    public static string MqttPasswordFile => Required("SMARTCITY_TEST_MQTT_PASSWORD_FILE");

    public static string MqttAclFile => Required("SMARTCITY_TEST_MQTT_ACL_FILE");

    /// <summary>InfluxDB's v2 API base URL (InfluxDB 2.x/3.x, or 1.x behind the nginx write shim); /query answers InfluxQL.</summary>
    public static string InfluxUrl => Required("SMARTCITY_TEST_INFLUX_URL").TrimEnd('/');

    public static string InfluxToken => Required("SMARTCITY_TEST_INFLUX_TOKEN");

    public static string InfluxOrg => Required("SMARTCITY_TEST_INFLUX_ORG");

    /// <summary><c>v1</c> (databases, the test harness's InfluxDB 1.x) or <c>v2</c> (buckets).</summary>
    public static string InfluxKind => Environment.GetEnvironmentVariable("SMARTCITY_TEST_INFLUX_KIND") ?? "v1";

    /// <summary>scripts/servers.sh, for tests that stop and restart a server.</summary>
    public static string ServersScript => Required("SMARTCITY_TEST_SERVERS_SCRIPT");

    public static string RunDir => Required("SMARTCITY_TEST_RUN_DIR");

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set. Integration tests talk to a real mosquitto and InfluxDB: run them with scripts/test.sh, which starts both.");

    /// <summary>A name no other test (or earlier run) uses: topic roots, client ids, databases.</summary>
    public static string UniqueName(string prefix) => $"{prefix}{Guid.NewGuid():N}"[..(prefix.Length + 12)];
}

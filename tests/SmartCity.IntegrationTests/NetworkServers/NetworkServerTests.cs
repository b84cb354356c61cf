using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Devices;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Devices.NetworkServers;

namespace SmartCity.IntegrationTests.NetworkServers;

/// <summary>
/// Issue 18 on the real broker, worker and InfluxDB: ChirpStack v4 and The Things Stack v3 messages in
/// their published formats (../shared/field-networks/samples, with the time set to now) onboarded by a
/// mapping file and a profile file only, through the one pipeline every device uses.
/// </summary>
public sealed class NetworkServerTests
{
    private const string SchoolApp = "17c82e96-be03-4f38-aef3-f83d48582d97";

    /// <summary>A classroom sensor reporting every 5 seconds, so that silence raises offline after 15 s instead of 15 min.</summary>
    private const string ClassroomProfile = """
        {
          "id": "lora_classroom", "version": "1.0.0", "sector": "education", "deviceType": "lora_classroom",
          "expectedInterval": "00:00:05",
          "messages": { "telemetry": { "measurement": "classroom_env", "fields": [
            { "name": "co2_ppm", "type": "float", "unit": "ppm", "min": 0, "max": 10000, "required": true },
            { "name": "temperature_c", "type": "float", "unit": "degC", "min": -40, "max": 85, "required": true },
            { "name": "humidity_pct", "type": "float", "unit": "%", "min": 0, "max": 100 },
            { "name": "presence", "type": "bool" },
            { "name": "battery_pct", "type": "float", "unit": "%", "min": 0, "max": 100 } ] } },
          "alerts": [ { "rule": "device_offline", "severity": "major", "kind": "offline" } ]
        }
        """;

    [Fact]
    public async Task ChirpStackAndTheThingsStack_RealFormatMessages_StoredRejectedQuarantinedAndSilentDeviceAlertedOffline()
    {
        var district = TestServers.UniqueName("lw");
        var root = TestServers.UniqueName("t") + "/city";
        var settings = WriteFiles(root, district);
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, topicRoot: root, overrides: settings);
        var states = new AlertStates();
        await using var watcher = await states.SubscribeAsync($"smartcity/alerts/education/{district}/#");
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("ns-"), CancellationToken.None);
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddSeconds(-30));
        string Chirp(string ev, string eui = "0101010101010101") => $"{root}/application/{SchoolApp}/device/{eui}/event/{ev}";
        string Time(int seconds) => t0.AddSeconds(seconds).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00+00:00'", CultureInfo.InvariantCulture);
        var messages = new (string Topic, string Payload)[]
        {
            (Chirp("up"), With("chirpstack/up.object.DERIVED.json", ("time", Time(1)), ("object/co2", 612.0))),
            (Chirp("up"), With("chirpstack/up.data-only.json", ("time", Time(2)), ("fCnt", 14.0), ("data", "AQDiAikEACcFBgYDCA=="))),
            (Chirp("join"), With("chirpstack/join.json", ("time", Time(3)))),
            (Chirp("status"), With("chirpstack/status.json", ("time", Time(4)))),
            (Chirp("ack"), Sample("chirpstack/ack.json")),
            (Chirp("up"), """{"deviceInfo":{"devEui":"0101010101010101"},"fPort":1,"da"""),
            (Chirp("up", "70b3d57ed0000001"), With("chirpstack/up.data-only.json", ("time", Time(5)), ("deviceInfo/devEui", "70b3d57ed0000001"))),
            ($"{root}/v3/app1@city/devices/dev1/up", With("tts/up.frm-only.mqtt-doc.json", ("received_at", Time(6)), ("uplink_message/f_port", 85.0), ("uplink_message/frm_payload", "A3SyCA=="))),
            ($"{root}/v3/app1@city/devices/dev1/up", With("tts/up.decoded.data-formats.DERIVED.json", ("received_at", Time(7)), ("uplink_message/decoded_payload/voltage", "229.8"), ("uplink_message/decoded_payload/switch_1", "on"))),
        };
        foreach (var (topic, payload) in messages)
        {
            await publisher.PublishTextAsync(topic, payload);
        }

        var s = await worker.Metrics.WaitUntilAsync(s => s.Acknowledged >= messages.Length, DeviceTestKit.Timeout);
        Assert.Equal((9L, 6L, 2L, 1L), (s.Received, s.Accepted, s.Rejected, s.Ignored));
        var classroom = await StoredQuery.WaitForAsync(worker.Metrics, () => db.RowsAsync("SELECT co2_ppm, temperature_c, presence, fcnt, lost_uplinks, rssi_dbm, snr_db, gateway_id FROM classroom_env GROUP BY device_id"), r => r.Count >= 2, DeviceTestKit.Timeout);
        Assert.Equal(
            [("co2-a", 612.0, 30.8, 10L, 0L, -36.0, 10.5, "0016c001f153a14c"), ("co2-a", 776.0, 22.6, 14L, 3L, -36.0, 10.5, "0016c001f153a14c")],
            classroom.Select(r => (r.Tags["device_id"], r.Row["co2_ppm"].GetDouble(), r.Row["temperature_c"].GetDouble(), r.Row["fcnt"].GetInt64(), r.Row["lost_uplinks"].GetInt64(), r.Row["rssi_dbm"].GetDouble(), r.Row["snr_db"].GetDouble(), r.Row["gateway_id"].GetString())));
        Assert.Equal(3, worker.Services.GetRequiredService<NetworkServerMetrics>().LostUplinks);
        var lamps = await StoredQuery.WaitForAsync(worker.Metrics, () => db.RowsAsync("SELECT voltage_v, \"on\", fcnt FROM street_light GROUP BY device_id, district"), r => r.Count >= 2, DeviceTestKit.Timeout);
        Assert.Equal([("lamp-1", district, 222.6, 0L), ("lamp-1", district, 229.8, 1L)], lamps.Select(r => (r.Tags["device_id"], r.Tags["district"], r.Row["voltage_v"].GetDouble(), r.Row["fcnt"].GetInt64())));
        var status = await db.RowsAsync("SELECT battery_pct, margin_db FROM lorawan_status GROUP BY device_id");
        Assert.Equal(("co2-a", 88.3, 10L), (status.Single().Tags["device_id"], status.Single().Row["battery_pct"].GetDouble(), status.Single().Row["margin_db"].GetInt64()));
        var births = await db.RowsAsync("SELECT online, profile FROM device_status GROUP BY device_id");
        Assert.Equal(("co2-a", "lora_classroom"), (births.Single().Tags["device_id"], births.Single().Row["profile"].GetString()));
        var deadLetters = await StoredQuery.WaitForAsync(worker.Metrics, () => db.RowsAsync("SELECT detail FROM dead_letter GROUP BY reason"), r => r.Count >= 2, DeviceTestKit.Timeout);
        Assert.Equal(["MalformedJson", "UnknownDevice"], deadLetters.Select(r => r.Tags["reason"]).Order(StringComparer.Ordinal));

        // Known from the mapping without a birth (co2-b never spoke); the unknown DevEUI quarantined.
        using var http = worker.CreateClient();
        var devices = await http.GetFromJsonAsync<JsonElement>("/api/devices");
        Assert.Contains(devices.EnumerateArray(), d => d.GetProperty("deviceId").GetString() == "co2-b" && !d.GetProperty("online").GetBoolean());
        var quarantined = await http.GetFromJsonAsync<JsonElement>("/api/devices?status=quarantined");
        Assert.Contains(quarantined.EnumerateArray(), d => d.GetProperty("deviceId").GetString() == "70b3d57ed0000001" && d.GetProperty("deviceType").GetString() == "chirpstack");

        // co2-a then falls silent: offline after three 5-second intervals, as any device.
        var offline = await states.WaitForAsync(a => a.GetProperty("deviceId").GetString() == "co2-a" && a.GetProperty("rule").GetString() == "device_offline", TimeSpan.FromSeconds(120));
        Assert.Equal("raised", offline.GetProperty("state").GetString());
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    private static Dictionary<string, string?> WriteFiles(string root, string district)
    {
        var profiles = DeviceTestKit.NewProfileFolder();
        Directory.CreateDirectory(Path.Combine(profiles, "lora_classroom"));
        File.WriteAllText(Path.Combine(profiles, "lora_classroom", "profile.json"), ClassroomProfile);
        Directory.CreateDirectory(Path.Combine(profiles, "light_controller"));
        File.Copy(Path.Combine(RepositoryFiles.Root, "networks", "examples", "profiles", "light_controller", "profile.json"), Path.Combine(profiles, "light_controller", "profile.json"));
        var mappings = DeviceTestKit.NewProfileFolder();
        File.WriteAllText(Path.Combine(mappings, "school.mapping.json"), $$"""
            {
              "network": "chirpstack", "topicPrefix": "{{root}}/application", "application": "{{SchoolApp}}",
              "profile": "lora_classroom", "district": "{{district}}", "site": "school-7",
              "codecs": { "1": "elsys_ers_v1" },
              "fields": { "co2": { "field": "co2_ppm" }, "temperature": { "field": "temperature_c", "unit": "degC" }, "humidity": { "field": "humidity_pct" } },
              "devices": [ { "devEui": "0101010101010101", "deviceId": "co2-a" }, { "devEui": "0202020202020202", "deviceId": "co2-b" } ]
            }
            """);
        File.WriteAllText(Path.Combine(mappings, "lamps.mapping.json"), $$"""
            {
              "network": "the-things-stack", "topicPrefix": "{{root}}/v3", "application": "app1",
              "profile": "light_controller", "district": "{{district}}", "site": "main-st",
              "codecs": { "85": "milesight_ws558_v1" },
              "fields": { "voltage": { "field": "voltage_v", "unit": "V" }, "switch_1": { "field": "on" } },
              "devices": [ { "networkDeviceId": "dev1", "deviceId": "lamp-1" } ]
            }
            """);
        return new() { ["Profiles:Directory"] = profiles, ["NetworkServers:Directory"] = mappings };
    }

    /// <summary>A published sample from ../shared/field-networks (third-party reference data, read where CI keeps it).</summary>
    private static string Sample(string relative)
    {
        var file = Path.GetFullPath(Path.Combine(RepositoryFiles.Root, "..", "shared", "field-networks", "samples", relative));
        return File.Exists(file) ? File.ReadAllText(file) : throw new FileNotFoundException($"LoRaWAN reference data not found: put the field-networks folder at {Path.GetDirectoryName(Path.GetDirectoryName(Path.GetDirectoryName(file)))}", file);
    }

    private static string With(string sample, params (string Path, JsonNode? Value)[] changes)
    {
        var node = JsonNode.Parse(Sample(sample))!;
        foreach (var (path, value) in changes)
        {
            var parts = path.Split('/');
            parts[..^1].Aggregate(node, (n, p) => n[p]!)[parts[^1]] = value;
        }

        return node.ToJsonString();
    }
}

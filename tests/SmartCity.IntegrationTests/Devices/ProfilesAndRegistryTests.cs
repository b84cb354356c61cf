using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.IntegrationTests.Devices;

/// <summary>
/// Device profiles as data and the device registry, on the real mosquitto and InfluxDB: a device
/// type added as one file is stored; a wrong file is refused and named; unknown devices are
/// quarantined until they announce themselves; births, wills and identities are checked; the
/// registry survives a restart.
/// </summary>
public sealed class ProfilesAndRegistryTests
{
    /// <summary>
    /// A brand-new device type, added as a profile file only: a parking-bay occupancy sensor
    /// published through mosquitto is found in InfluxDB with the profile's measurement, the five
    /// topic tags, the declared field types and the devices' own timestamps.
    /// </summary>
    [Fact]
    public async Task NewDeviceType_AddedAsProfileFileOnly_IsStoredWithTagsFieldTypesValuesAndDeviceTimestamps()
    {
        var folder = DeviceTestKit.NewProfileFolder();
        var profileFile = DeviceTestKit.WriteParkingProfile(folder);
        // A golden case beside it is documentation, not a profile: it must not be read as one.
        Directory.CreateDirectory(Path.Combine(folder, "parking_bay", "golden"));
        await File.WriteAllTextAsync(Path.Combine(folder, "parking_bay", "golden", "telemetry-full.json"), """{"description":"not a profile","topic":"x","payload":{}}""");
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: DeviceTestKit.ProfilesDirectory(folder));
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("bays-"), CancellationToken.None);

        var profiles = await DeviceTestKit.GetJsonAsync(worker, "/api/profiles");
        var parking = profiles.GetProperty("loaded").EnumerateArray().Single(p => p.GetProperty("id").GetString() == "parking_bay");
        Assert.Equal(profileFile, parking.GetProperty("source").GetString());
        Assert.Equal("parking_bay", parking.GetProperty("deviceType").GetString());
        Assert.Equal("lighting", parking.GetProperty("sector").GetString());
        Assert.Contains(profiles.GetProperty("loaded").EnumerateArray(), p => p.GetProperty("id").GetString() == "streetlight");
        Assert.Empty(profiles.GetProperty("refused").EnumerateArray());

        var root = worker.TopicRoot;
        string Topic(string bay, string kind) => $"{root}/lighting/d07/d07-lot-01/parking_bay/{bay}/{kind}";
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-10));
        await publisher.PublishTextAsync(Topic("bay-0001", "status"), DeviceTestKit.Birth("parking_bay", t0, "d07", "d07-lot-01", firmware: "pk-1.2.0"), retain: true);
        await publisher.PublishTextAsync(Topic("bay-0002", "status"), DeviceTestKit.Birth("parking_bay", t0, "d07", "d07-lot-01", firmware: "pk-1.2.0"), retain: true);

        var readings = new (string Bay, DateTimeOffset Ts, bool Occupied, long? Vehicles, double? Battery)[]
        {
            ("bay-0001", t0.AddSeconds(1), true, 12, 87.5),
            ("bay-0001", t0.AddSeconds(61), false, 12, 87.25),
            ("bay-0002", t0.AddSeconds(1.5), true, null, null),
            ("bay-0002", t0.AddSeconds(301), false, 0, 0),
        };
        foreach (var r in readings)
        {
            var fields = new StringBuilder($$"""{"v":1,"ts":"{{DeviceTestKit.Ts(r.Ts)}}","occupied":{{(r.Occupied ? "true" : "false")}}""");
            if (r.Vehicles is { } vehicles)
            {
                fields.Append(CultureInfo.InvariantCulture, $",\"vehicle_count\":{vehicles}");
            }

            if (r.Battery is { } battery)
            {
                fields.Append(CultureInfo.InvariantCulture, $",\"battery_pct\":{battery}");
            }

            await publisher.PublishTextAsync(Topic(r.Bay, "telemetry"), fields.Append('}').ToString());
        }

        await publisher.PublishTextAsync(Topic("bay-0001", "event"), $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(30))}}","event":"arrived"}""");
        // The profile's rules are enforced like a built-in's: range, type.
        await publisher.PublishTextAsync(Topic("bay-0002", "telemetry"), $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(2))}}","occupied":true,"battery_pct":150}""");
        await publisher.PublishTextAsync(Topic("bay-0002", "telemetry"), $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(3))}}","occupied":"yes"}""");

        // 2 births + 4 readings + 1 event; 2 dead letters.
        var s = await DeviceTestKit.WaitStoredAsync(worker, points: 7, deadLetters: 2);
        Assert.Equal(7, s.PointsWritten);
        Assert.Equal(2, s.Rejected);
        Assert.Equal(1, s.RejectedByReason["OutOfRange"]);
        Assert.Equal(1, s.RejectedByReason["WrongType"]);
        Assert.Contains(worker.DeadLetters.Recent(), r => r.Reason == "OutOfRange" && r.Detail == "'battery_pct' must be between 0 and 100, was 150");

        var tagKeys = (await db.RowsAsync("SHOW TAG KEYS FROM parking_bay")).Select(r => r.Row["tagKey"].GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(["device_id", "device_type", "district", "sector", "site"], tagKeys);
        var fieldTypes = (await db.RowsAsync("SHOW FIELD KEYS FROM parking_bay")).ToDictionary(r => r.Row["fieldKey"].GetString()!, r => r.Row["fieldType"].GetString());
        Assert.Equal(new Dictionary<string, string?> { ["battery_pct"] = "float", ["occupied"] = "boolean", ["vehicle_count"] = "integer" }, fieldTypes);

        var rows = await db.RowsAsync("SELECT occupied, vehicle_count, battery_pct FROM parking_bay GROUP BY *");
        Assert.Equal(readings.Length, rows.Count);
        foreach (var r in readings)
        {
            var (tags, row) = Assert.Single(rows, x => x.Tags["device_id"] == r.Bay && x.Row["time"].GetInt64() == r.Ts.ToUnixTimeMilliseconds());
            Assert.Equal("lighting", tags["sector"]);
            Assert.Equal("d07", tags["district"]);
            Assert.Equal("d07-lot-01", tags["site"]);
            Assert.Equal("parking_bay", tags["device_type"]);
            Assert.Equal(r.Occupied, row["occupied"].GetBoolean());
            Assert.Equal(r.Vehicles, row["vehicle_count"].ValueKind == JsonValueKind.Null ? null : row["vehicle_count"].GetInt64());
            Assert.Equal(r.Battery, row["battery_pct"].ValueKind == JsonValueKind.Null ? null : row["battery_pct"].GetDouble());
        }

        var events = await db.RowsAsync("SELECT event, device_id FROM parking_event");
        var (_, ev) = Assert.Single(events);
        Assert.Equal("arrived", ev["event"].GetString());
        Assert.Equal("bay-0001", ev["device_id"].GetString());
        Assert.Equal(t0.AddSeconds(30).ToUnixTimeMilliseconds(), ev["time"].GetInt64());

        var births = await db.RowsAsync("SELECT profile, firmware, device_id FROM device_status");
        Assert.Equal(2, births.Count);
        Assert.All(births, b => Assert.Equal("parking_bay", b.Row["profile"].GetString()));
        var devices = await DeviceTestKit.GetJsonAsync(worker, "/api/devices");
        Assert.Equal(["bay-0001", "bay-0002"], devices.EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()));
        Assert.All(devices.EnumerateArray(), d => Assert.Equal("parking_bay", d.GetProperty("profile").GetString()));
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    /// <summary>
    /// A wrong profile file beside a good one is refused, with file, line and property, in
    /// /api/profiles; the good file's device type and the built-in ones keep working, and the
    /// refused type's messages are rejected as UnknownDeviceType.
    /// </summary>
    [Fact]
    public async Task WrongProfileFile_IsRefusedWithFileLineAndProperty_WhileTheOtherProfilesKeepWorking()
    {
        var folder = DeviceTestKit.NewProfileFolder();
        DeviceTestKit.WriteParkingProfile(folder);
        const string Broken = """
            {
              "id": "water_meter",
              "version": "1.0",
              "sector": "water",
              "deviceType": "water_meter",
              "expectedInterval": "00:15:00",
              "messages": {
                "telemetry": {
                  "measurement": "water_meter",
                  "fields": [
                    { "name": "leak", "type": "bool", "min": 0 }
                  ]
                }
              }
            }
            """;
        const string Typo = """
            {
              "id": "level_sensor",
              "version": "1.0.0",
              "sector": "security",
              "deviceType": "level_sensor",
              "expectedInterval": "00:15:00",
              "messages": {
                "telemetry": {
                  "measurement": "level_sensor",
                  "fields": [
                    { "name": "level_pct", "type": "float", "min": 0, "maximum": 100 }
                  ]
                }
              }
            }
            """;
        var brokenFile = Path.Combine(folder, "water_meter", "profile.json");
        Directory.CreateDirectory(Path.GetDirectoryName(brokenFile)!);
        await File.WriteAllTextAsync(brokenFile, Broken);
        // A profile may also be a loose *.json file in the folder.
        var typoFile = Path.Combine(folder, "level_sensor.json");
        await File.WriteAllTextAsync(typoFile, Typo);

        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: DeviceTestKit.ProfilesDirectory(folder));
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("mixed-"), CancellationToken.None);

        var profiles = await DeviceTestKit.GetJsonAsync(worker, "/api/profiles");
        var loaded = profiles.GetProperty("loaded").EnumerateArray().Select(p => p.GetProperty("id").GetString()).ToList();
        Assert.Contains("parking_bay", loaded);
        Assert.Contains("streetlight", loaded);
        Assert.DoesNotContain("water_meter", loaded);
        Assert.DoesNotContain("level_sensor", loaded);
        var refused = profiles.GetProperty("refused").EnumerateArray()
            .ToDictionary(r => r.GetProperty("source").GetString()!, r => r.GetProperty("problems").EnumerateArray().Select(p => p.GetString()!).ToList());
        Assert.Equal(new[] { brokenFile, typoFile }.Order(StringComparer.Ordinal), refused.Keys.Order(StringComparer.Ordinal));

        // Every problem of a file, each as file:line: property: why (the lines of the properties in the files above).
        Assert.Collection(
            refused[brokenFile],
            p => Assert.StartsWith($"{brokenFile}:{DeviceTestKit.LineOf(Broken, "\"version\"")}: $.version: ", p, StringComparison.Ordinal),
            p => Assert.StartsWith($"{brokenFile}:{DeviceTestKit.LineOf(Broken, "\"sector\"")}: $.sector: ", p, StringComparison.Ordinal),
            p => Assert.StartsWith($"{brokenFile}:{DeviceTestKit.LineOf(Broken, "\"leak\"")}: $.messages.telemetry.fields[0].min: ", p, StringComparison.Ordinal));
        var typoProblem = Assert.Single(refused[typoFile]);
        Assert.StartsWith($"{typoFile}:{DeviceTestKit.LineOf(Typo, "\"maximum\"")}: $.messages.telemetry.fields[0].maximum: ", typoProblem, StringComparison.Ordinal);

        // The refusals are logged loudly (event 4002), once per file, and nothing else is an error.
        var errors = worker.Logs.Entries.Where(e => e.Level >= LogLevel.Error).ToList();
        Assert.Equal(2, errors.Count);
        Assert.All(errors, e => Assert.Equal(4002, e.EventId));
        Assert.Contains(errors, e => e.Message.Contains(brokenFile, StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Message.Contains(typoFile, StringComparison.Ordinal));

        var root = worker.TopicRoot;
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-5));
        var bay = $"{root}/lighting/d02/d02-lot-03/parking_bay/bay-0101";
        var meter = $"{root}/lighting/d02/d02-pump-01/water_meter/wm-0001";
        var level = $"{root}/security/d02/d02-tank-01/level_sensor/lv-0001";
        var fleet = new StreetLightFleet(1, 1, root, seed: 3, t0, TimeSpan.FromSeconds(10));
        var lamp = fleet.Lamps[0];

        await publisher.PublishTextAsync(bay + "/status", DeviceTestKit.Birth("parking_bay", t0, "d02", "d02-lot-03"), retain: true);
        var birth = fleet.Birth(lamp, t0);
        await publisher.PublishAsync(birth.Topic, birth.Payload, MqttQualityOfServiceLevel.AtLeastOnce, true, CancellationToken.None);
        await publisher.PublishTextAsync(meter + "/status", DeviceTestKit.Birth("water_meter", t0, "d02", "d02-pump-01"), retain: true);
        await publisher.PublishTextAsync(meter + "/telemetry", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0)}}","leak":false}""");
        await publisher.PublishTextAsync(level + "/telemetry", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0)}}","level_pct":40}""");
        await publisher.PublishTextAsync(bay + "/telemetry", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(1))}}","occupied":true,"vehicle_count":3,"battery_pct":64.5}""");
        var reading = fleet.Create(0);
        await publisher.PublishAsync(reading.Topic, reading.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);

        // 2 births + 2 readings stored; the refused type's birth and messages are dead letters.
        var s = await DeviceTestKit.WaitStoredAsync(worker, points: 4, deadLetters: 3);
        Assert.Equal(4, s.PointsWritten);
        Assert.Equal(new Dictionary<string, long> { ["UnknownDeviceType"] = 3 }, s.RejectedByReason);
        var (_, stored) = Assert.Single(await db.RowsAsync("SELECT occupied, vehicle_count, battery_pct FROM parking_bay"));
        Assert.True(stored["occupied"].GetBoolean());
        Assert.Equal(3, stored["vehicle_count"].GetInt64());
        Assert.Equal(64.5, stored["battery_pct"].GetDouble());
        var (_, light) = Assert.Single(await db.RowsAsync("SELECT power_w FROM street_light"));
        Assert.Equal(JsonDocument.Parse(reading.Payload).RootElement.GetProperty("power_w").GetDouble(), light["power_w"].GetDouble());
        Assert.Equal(3, await db.CountAsync("SELECT count(payload_bytes) FROM dead_letter WHERE reason = 'UnknownDeviceType'"));
    }

    /// <summary>
    /// Telemetry from a device that never announced itself is quarantined: counted as UnknownDevice,
    /// listed at /api/devices?status=quarantined, dead-lettered, not stored. Once it sends its birth,
    /// its telemetry is stored and it leaves the quarantine.
    /// </summary>
    [Fact]
    public async Task UnknownDevice_IsQuarantinedAndVisible_ThenStoredOnceItAnnouncesItself()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("lamp-"), CancellationToken.None);
        var fleet = new StreetLightFleet(1, 1, worker.TopicRoot, seed: 11, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-30)), TimeSpan.FromSeconds(10));
        var lamp = fleet.Lamps[0];

        for (var k = 0; k < 3; k++)
        {
            var m = fleet.Create(k);
            await publisher.PublishAsync(m.Topic, m.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        }

        var s = await DeviceTestKit.WaitStoredAsync(worker, points: 0, deadLetters: 3);
        Assert.Equal(new Dictionary<string, long> { ["UnknownDevice"] = 3 }, s.RejectedByReason);
        var quarantined = Assert.Single((await DeviceTestKit.GetJsonAsync(worker, "/api/devices?status=quarantined")).EnumerateArray());
        Assert.Equal(lamp.DeviceId, quarantined.GetProperty("deviceId").GetString());
        Assert.Equal("streetlight", quarantined.GetProperty("deviceType").GetString());
        Assert.Equal(3, quarantined.GetProperty("messages").GetInt64());
        Assert.Equal($"lighting/{lamp.District}/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry", quarantined.GetProperty("lastTopic").GetString());
        Assert.Equal(HttpStatusCode.NotFound, await DeviceTestKit.GetStatusAsync(worker, $"/api/devices/{lamp.DeviceId}"));
        var rejection = (await DeviceTestKit.GetJsonAsync(worker, "/api/rejections?limit=10")).EnumerateArray().First();
        Assert.Equal("UnknownDevice", rejection.GetProperty("reason").GetString());
        Assert.Equal(lamp.DeviceId, rejection.GetProperty("deviceId").GetString());
        Assert.Contains("quarantined", rejection.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var deadLetters = await db.RowsAsync("SELECT device_id, topic FROM dead_letter WHERE reason = 'UnknownDevice' GROUP BY sector, device_type");
        Assert.Equal(3, deadLetters.Count);
        Assert.All(deadLetters, d =>
        {
            Assert.Equal(lamp.DeviceId, d.Row["device_id"].GetString());
            Assert.Equal(StreetLightFleet.TopicFor(worker.TopicRoot, lamp, "telemetry"), d.Row["topic"].GetString());
            Assert.Equal("lighting", d.Tags["sector"]);
            Assert.Equal("streetlight", d.Tags["device_type"]);
        });
        Assert.Equal(0, await db.CountAsync("SELECT count(power_w) FROM street_light"));

        // It announces itself; from then on its telemetry is stored.
        var birth = fleet.Birth(lamp, DateTimeOffset.UtcNow);
        await publisher.PublishAsync(birth.Topic, birth.Payload, MqttQualityOfServiceLevel.AtLeastOnce, true, CancellationToken.None);
        var later = Enumerable.Range(3, 3).Select(k => fleet.Create(k)).ToList();
        foreach (var m in later)
        {
            await publisher.PublishAsync(m.Topic, m.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        }

        s = await DeviceTestKit.WaitStoredAsync(worker, points: 1 + later.Count, deadLetters: 3);
        Assert.Equal(1 + later.Count, s.PointsWritten);
        Assert.Equal(3, s.Rejected);
        Assert.Empty((await DeviceTestKit.GetJsonAsync(worker, "/api/devices?status=quarantined")).EnumerateArray());
        var device = await DeviceTestKit.GetJsonAsync(worker, $"/api/devices/{lamp.DeviceId}");
        Assert.Equal("streetlight", device.GetProperty("profile").GetString());
        Assert.True(device.GetProperty("online").GetBoolean());
        var rows = await db.RowsAsync("SELECT power_w, seq FROM street_light");
        Assert.Equal(
            later.Select(m => (m.Timestamp.ToUnixTimeMilliseconds(), JsonDocument.Parse(m.Payload).RootElement.GetProperty("power_w").GetDouble(), JsonDocument.Parse(m.Payload).RootElement.GetProperty("seq").GetInt64())),
            rows.Select(r => (r.Row["time"].GetInt64(), r.Row["power_w"].GetDouble(), r.Row["seq"].GetInt64())));
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    /// <summary>
    /// The registry is kept on disk: a worker restarted with the same client id (same registry
    /// file) stores telemetry from a device registered before the restart, without a new birth.
    /// The birth is sent without the retain flag, so the broker cannot replay it: only the file knows.
    /// </summary>
    [Fact]
    public async Task Registry_SurvivesWorkerRestart_TelemetryWithoutNewBirthIsStored()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var topicRoot = TestServers.UniqueName("t") + "/city";
        var clientId = TestServers.UniqueName("worker-");
        var fleet = new StreetLightFleet(2, 1, topicRoot, seed: 21, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-30)), TimeSpan.FromSeconds(10));
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("lamps-"), CancellationToken.None);

        await using (var first = await TestWorker.StartAsync(db, topicRoot, clientId))
        {
            foreach (var lamp in fleet.Lamps)
            {
                var birth = fleet.Birth(lamp, DateTimeOffset.UtcNow);
                await publisher.PublishAsync(birth.Topic, birth.Payload, MqttQualityOfServiceLevel.AtLeastOnce, retain: false, CancellationToken.None);
            }

            var m = fleet.Create(0);
            await publisher.PublishAsync(m.Topic, m.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            await DeviceTestKit.WaitStoredAsync(first, points: 3, deadLetters: 0);
        }

        var registryFile = Path.Combine(TestWorker.DataDirectory(clientId), "registry.json");
        var saved = JsonDocument.Parse(await File.ReadAllBytesAsync(registryFile)).RootElement;
        Assert.Equal(fleet.Lamps.Select(l => l.DeviceId), saved.EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()));

        await using var second = await TestWorker.StartAsync(db, topicRoot, clientId);
        // Known before any message arrives.
        var known = await DeviceTestKit.GetJsonAsync(second, $"/api/devices/{fleet.Lamps[1].DeviceId}");
        Assert.Equal("streetlight", known.GetProperty("profile").GetString());
        Assert.Equal(fleet.Lamps[1].District, known.GetProperty("district").GetString());

        var after = Enumerable.Range(1, 5).Select(k => fleet.Create(k)).ToList();
        foreach (var m in after)
        {
            await publisher.PublishAsync(m.Topic, m.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        }

        var s = await DeviceTestKit.WaitStoredAsync(second, points: after.Count, deadLetters: 0);
        Assert.Equal(after.Count, s.PointsWritten);
        Assert.Equal(0, s.Rejected);
        Assert.Empty((await DeviceTestKit.GetJsonAsync(second, "/api/devices?status=quarantined")).EnumerateArray());
        Assert.Equal(1 + after.Count, await db.CountAsync("SELECT count(power_w) FROM street_light"));
        Assert.Equal(0, await db.CountAsync("SELECT count(payload_bytes) FROM dead_letter"));
        Assert.Empty(second.Logs.AtLeast(LogLevel.Error));
    }

    /// <summary>
    /// A device connects with a last will on its status topic, announces itself, then drops its
    /// connection: the broker publishes the will and the registry marks the device offline.
    /// </summary>
    [Fact]
    public async Task LastWill_MarksTheDeviceOfflineInTheDeviceList()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var fleet = new StreetLightFleet(1, 1, worker.TopicRoot, seed: 31, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-5)), TimeSpan.FromSeconds(10));
        var lamp = fleet.Lamps[0];
        var statusTopic = StreetLightFleet.TopicFor(worker.TopicRoot, lamp, "status");
        await using var device = await MqttPublisher.ConnectAsync(
            TestWorker.Broker, TestServers.UniqueName(lamp.DeviceId + "-"), new LastWill(statusTopic, """{"v":1,"online":false}"""u8.ToArray()), CancellationToken.None);

        var birth = fleet.Birth(lamp, DateTimeOffset.UtcNow);
        await device.PublishAsync(birth.Topic, birth.Payload, MqttQualityOfServiceLevel.AtLeastOnce, true, CancellationToken.None);
        await DeviceTestKit.WaitStoredAsync(worker, points: 1, deadLetters: 0);
        var online = Assert.Single((await DeviceTestKit.GetJsonAsync(worker, "/api/devices?status=online")).EnumerateArray());
        Assert.Equal(lamp.DeviceId, online.GetProperty("deviceId").GetString());
        Assert.Empty((await DeviceTestKit.GetJsonAsync(worker, "/api/devices?status=offline")).EnumerateArray());

        await device.DisconnectWithWillAsync(CancellationToken.None);

        var s = await DeviceTestKit.WaitStoredAsync(worker, points: 2, deadLetters: 0);
        Assert.Equal(0, s.Rejected);
        Assert.Empty((await DeviceTestKit.GetJsonAsync(worker, "/api/devices?status=online")).EnumerateArray());
        var offline = Assert.Single((await DeviceTestKit.GetJsonAsync(worker, "/api/devices?status=offline")).EnumerateArray());
        Assert.Equal(lamp.DeviceId, offline.GetProperty("deviceId").GetString());
        Assert.False(offline.GetProperty("online").GetBoolean());
        Assert.Equal(JsonValueKind.String, offline.GetProperty("wentOffline").ValueKind);
        // Still registered with what it announced: the will says "offline", not "forget me".
        Assert.Equal("streetlight", offline.GetProperty("profile").GetString());
        Assert.Equal(lamp.Site, offline.GetProperty("site").GetString());
        var statuses = await db.RowsAsync($"SELECT online FROM device_status WHERE device_id = '{lamp.DeviceId}'");
        Assert.Equal([true, false], statuses.Select(r => r.Row["online"].GetBoolean()));
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    /// <summary>
    /// A birth that names the profile of another device type, or a district or site other than its
    /// topic's, is rejected as IdentityMismatch and registers nothing (telemetry that follows is
    /// still quarantined); a consistent birth then registers the device.
    /// </summary>
    [Fact]
    public async Task Birth_WithAnotherTypesProfileOrContradictingDistrictOrSite_IsRejectedIdentityMismatchAndRegistersNothing()
    {
        var folder = DeviceTestKit.NewProfileFolder();
        DeviceTestKit.WriteParkingProfile(folder);
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: DeviceTestKit.ProfilesDirectory(folder));
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("lamp-"), CancellationToken.None);
        var fleet = new StreetLightFleet(1, 1, worker.TopicRoot, seed: 41, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-5)), TimeSpan.FromSeconds(10));
        var lamp = fleet.Lamps[0];
        var status = StreetLightFleet.TopicFor(worker.TopicRoot, lamp, "status");
        var now = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow);

        await publisher.PublishTextAsync(status, DeviceTestKit.Birth("parking_bay", now, lamp.District, lamp.Site), retain: true);
        await publisher.PublishTextAsync(status, DeviceTestKit.Birth("streetlight", now, "d99", lamp.Site), retain: true);
        await publisher.PublishTextAsync(status, DeviceTestKit.Birth("streetlight", now, lamp.District, "d01-street-999"), retain: true);
        var first = fleet.Create(0);
        await publisher.PublishAsync(first.Topic, first.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);

        var s = await DeviceTestKit.WaitStoredAsync(worker, points: 0, deadLetters: 4);
        Assert.Equal(new Dictionary<string, long> { ["IdentityMismatch"] = 3, ["UnknownDevice"] = 1 }, s.RejectedByReason);
        Assert.Empty((await DeviceTestKit.GetJsonAsync(worker, "/api/devices")).EnumerateArray());
        var details = worker.DeadLetters.Recent().Where(r => r.Reason == "IdentityMismatch").Select(r => r.Detail).Reverse().ToList();
        Assert.Equal(3, details.Count);
        Assert.Contains("parking_bay", details[0], StringComparison.Ordinal);
        Assert.Contains("streetlight", details[0], StringComparison.Ordinal);
        Assert.Contains("d99", details[1], StringComparison.Ordinal);
        Assert.Contains("d01-street-999", details[2], StringComparison.Ordinal);

        // The consistent birth registers it; its telemetry is stored.
        await publisher.PublishTextAsync(status, DeviceTestKit.Birth("streetlight", now, lamp.District, lamp.Site), retain: true);
        var second = fleet.Create(1);
        await publisher.PublishAsync(second.Topic, second.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);

        s = await DeviceTestKit.WaitStoredAsync(worker, points: 2, deadLetters: 4);
        Assert.Equal(2, s.PointsWritten);
        Assert.Equal(4, s.Rejected);
        var device = await DeviceTestKit.GetJsonAsync(worker, $"/api/devices/{lamp.DeviceId}");
        Assert.Equal("streetlight", device.GetProperty("profile").GetString());
        Assert.Equal(lamp.District, device.GetProperty("district").GetString());
        Assert.Equal(lamp.Site, device.GetProperty("site").GetString());
        var (_, row) = Assert.Single(await db.RowsAsync("SELECT power_w FROM street_light"));
        Assert.Equal(second.Timestamp.ToUnixTimeMilliseconds(), row["time"].GetInt64());
        var reasons = (await db.RowsAsync("SELECT count(payload_bytes) FROM dead_letter GROUP BY reason")).ToDictionary(r => r.Tags["reason"], r => r.Row["count"].GetInt64());
        Assert.Equal(new Dictionary<string, long> { ["IdentityMismatch"] = 3, ["UnknownDevice"] = 1 }, reasons);
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    /// <summary>
    /// Telemetry from a registered device on a topic that contradicts its birth (another district,
    /// another site, another device type) is rejected as IdentityMismatch and does not move the
    /// device; its telemetry on its own topic is stored in between.
    /// </summary>
    [Fact]
    public async Task Telemetry_FromARegisteredDeviceOnAnotherDistrictSiteOrType_IsRejectedIdentityMismatch()
    {
        var folder = DeviceTestKit.NewProfileFolder();
        DeviceTestKit.WriteParkingProfile(folder);
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: DeviceTestKit.ProfilesDirectory(folder));
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("lamp-"), CancellationToken.None);
        var root = worker.TopicRoot;
        var fleet = new StreetLightFleet(1, 1, root, seed: 51, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-5)), TimeSpan.FromSeconds(10));
        var lamp = fleet.Lamps[0];
        var birth = fleet.Birth(lamp, DateTimeOffset.UtcNow);
        await publisher.PublishAsync(birth.Topic, birth.Payload, MqttQualityOfServiceLevel.AtLeastOnce, true, CancellationToken.None);

        var good = new List<SimulatedMessage>();
        var k = 0;
        async Task PublishGoodAsync()
        {
            var m = fleet.Create(k++);
            good.Add(m);
            await publisher.PublishAsync(m.Topic, m.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        }

        await PublishGoodAsync();
        var wrongDistrict = fleet.Create(k++);
        await publisher.PublishAsync($"{root}/lighting/d02/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry", wrongDistrict.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        await PublishGoodAsync();
        var wrongSite = fleet.Create(k++);
        await publisher.PublishAsync($"{root}/lighting/{lamp.District}/d01-street-777/streetlight/{lamp.DeviceId}/telemetry", wrongSite.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        await PublishGoodAsync();
        await publisher.PublishTextAsync(
            $"{root}/lighting/{lamp.District}/{lamp.Site}/parking_bay/{lamp.DeviceId}/telemetry",
            $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-1)))}}","occupied":true}""");
        await PublishGoodAsync();

        var s = await DeviceTestKit.WaitStoredAsync(worker, points: 1 + good.Count, deadLetters: 3);
        Assert.Equal(1 + good.Count, s.PointsWritten);
        Assert.Equal(new Dictionary<string, long> { ["IdentityMismatch"] = 3 }, s.RejectedByReason);
        var details = worker.DeadLetters.Recent().Select(r => r.Detail).Reverse().ToList();
        Assert.Contains("d02", details[0], StringComparison.Ordinal);
        Assert.Contains("d01-street-777", details[1], StringComparison.Ordinal);
        Assert.Contains("parking_bay", details[2], StringComparison.Ordinal);

        var device = await DeviceTestKit.GetJsonAsync(worker, $"/api/devices/{lamp.DeviceId}");
        Assert.Equal(lamp.District, device.GetProperty("district").GetString());
        Assert.Equal(lamp.Site, device.GetProperty("site").GetString());
        Assert.Equal("streetlight", device.GetProperty("deviceType").GetString());
        var rows = await db.RowsAsync("SELECT power_w FROM street_light GROUP BY district, site");
        Assert.Equal(good.Select(m => m.Timestamp.ToUnixTimeMilliseconds()), rows.Select(r => r.Row["time"].GetInt64()));
        Assert.All(rows, r => Assert.Equal((lamp.District, lamp.Site), (r.Tags["district"], r.Tags["site"])));
        Assert.Equal(0, await db.CountAsync("SELECT count(occupied) FROM parking_bay"));
        var deadLetters = await db.RowsAsync("SELECT topic, device_id FROM dead_letter WHERE reason = 'IdentityMismatch'");
        Assert.Equal(3, deadLetters.Count);
        Assert.All(deadLetters, d => Assert.Equal(lamp.DeviceId, d.Row["device_id"].GetString()));
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }
}

/// <summary>What the device tests share: profile files, payloads, publishing, the worker's API, and how strings are stored.</summary>
internal static class DeviceTestKit
{
    /// <summary>A ceiling for waits on the pipeline; the tests finish far sooner.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// A parking-bay occupancy sensor (magnetometer in the road surface), written as an integrator
    /// would: data only. Under <c>lighting</c>, like the docs' own example: it is street furniture.
    /// </summary>
    public const string ParkingProfile = """
        {
          // Parking-bay occupancy sensor: a device type added as a file, no code.
          "id": "parking_bay",
          "version": "1.0.0",
          "sector": "lighting",
          "deviceType": "parking_bay",
          "description": "On-street parking bay: occupied or free, vehicles counted, battery.",
          "expectedInterval": "00:05:00",
          "messages": {
            "telemetry": {
              "measurement": "parking_bay",
              "versions": [1],
              "fields": [
                { "name": "occupied", "type": "bool", "required": true },
                { "name": "vehicle_count", "type": "int", "min": 0, "max": 100000 },
                { "name": "battery_pct", "type": "float", "unit": "%", "min": 0, "max": 100 },
              ]
            },
            "event": {
              "measurement": "parking_event",
              "fields": [
                { "name": "event", "type": "enum", "required": true, "values": ["arrived", "departed"] },
                { "name": "detail", "type": "string", "maxLength": 256 }
              ]
            }
          },
          "alerts": [
            { "rule": "battery_low", "severity": "minor", "kind": "threshold", "field": "battery_pct", "below": 15, "clear": 25 },
            { "rule": "device_offline", "severity": "major", "kind": "offline" }
          ]
        }
        """;

    private static readonly JsonSerializerOptions RawUtf8 = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string NewProfileFolder()
    {
        var folder = Path.Combine(Path.GetTempPath(), "smartcity-it-profiles", TestServers.UniqueName("p-"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    /// <summary>Writes <c>parking_bay/profile.json</c> into <paramref name="folder"/>; returns its path.</summary>
    public static string WriteParkingProfile(string folder)
    {
        var file = Path.Combine(folder, "parking_bay", "profile.json");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, ParkingProfile);
        return file;
    }

    public static Dictionary<string, string?> ProfilesDirectory(string folder) => new() { ["Profiles:Directory"] = folder };

    /// <summary>The 1-based line of the first line of <paramref name="text"/> containing <paramref name="marker"/>.</summary>
    public static int LineOf(string text, string marker) =>
        text.Split('\n').Select((line, i) => (line, i)).First(x => x.line.Contains(marker, StringComparison.Ordinal)).i + 1;

    /// <summary>Device clocks tick in whole milliseconds, and InfluxQL answers in milliseconds here.</summary>
    public static DateTimeOffset WholeMilliseconds(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds());

    public static string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    /// <summary>A birth message (docs/device-contract.md, "Status"); strings are written as raw UTF-8, escaped only where JSON requires.</summary>
    public static string Birth(string profile, DateTimeOffset ts, string? district, string? site, string firmware = "1.0.0")
    {
        var birth = new Dictionary<string, object?>
        {
            ["v"] = 1,
            ["ts"] = Ts(ts),
            ["online"] = true,
            ["profile"] = profile,
            ["firmware"] = firmware,
            ["lat"] = 52.09,
            ["lon"] = 5.12,
        };
        if (district is not null)
        {
            birth["district"] = district;
        }

        if (site is not null)
        {
            birth["site"] = site;
        }

        return JsonSerializer.Serialize(birth, RawUtf8);
    }

    /// <summary>A JSON string literal of <paramref name="value"/>, non-ASCII left as raw UTF-8.</summary>
    public static string JsonString(string value) => JsonSerializer.Serialize(value, RawUtf8);

    public static Task PublishTextAsync(this MqttPublisher publisher, string topic, string payload, bool retain = false) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(payload), MqttQualityOfServiceLevel.AtLeastOnce, retain, CancellationToken.None);

    /// <summary>Waits until at least so many telemetry points and dead letters are in InfluxDB.</summary>
    public static Task<PipelineSnapshot> WaitStoredAsync(TestWorker worker, long points, long deadLetters) =>
        worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= points && s.DeadLettersWritten >= deadLetters, Timeout);

    public static async Task<JsonElement> GetJsonAsync(TestWorker worker, string path)
    {
        using var http = worker.CreateClient();
        return await http.GetFromJsonAsync<JsonElement>(path);
    }

    public static async Task<HttpStatusCode> GetStatusAsync(TestWorker worker, string path)
    {
        using var http = worker.CreateClient();
        using var response = await http.GetAsync(new Uri(path, UriKind.Relative));
        return response.StatusCode;
    }

    /// <summary>
    /// What a string field holds in InfluxDB after the worker wrote <paramref name="value"/>, as
    /// src/SmartCity.Telemetry/Devices/LineProtocol.cs documents it (and docs/device-profiles.md,
    /// "newlines written \n"): quotes, backslashes, commas, spaces, '=' and non-ASCII unchanged;
    /// newline, carriage return, tab and form feed as their two-character escapes (InfluxDB keeps
    /// the backslash); any other control character as U+FFFD; half a surrogate pair (not a
    /// character) as U+FFFD, which is what UTF-8 encoding makes of it.
    /// </summary>
    public static string Stored(string value)
    {
        var sb = new StringBuilder(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            switch (c)
            {
                case '\n': sb.Append(@"\n"); break;
                case '\r': sb.Append(@"\r"); break;
                case '\t': sb.Append(@"\t"); break;
                case '\f': sb.Append(@"\f"); break;
                default:
                    if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1]))
                    {
                        sb.Append(c).Append(value[++i]);
                    }
                    else if (char.IsSurrogate(c) || char.IsControl(c))
                    {
                        sb.Append('\uFFFD');
                    }
                    else
                    {
                        sb.Append(c);
                    }

                    break;
            }
        }

        return sb.ToString();
    }
}

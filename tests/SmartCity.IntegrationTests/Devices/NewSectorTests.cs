using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Devices;

/// <summary>
/// Issue 24 item 4: a sector is data. A city adds <c>waste</c> in configuration and a waste-bin
/// profile as a file; the bins' messages are stored, and the profile's alert rule is raised and
/// routed like any built-in one (retained on <c>smartcity/alerts/waste/...</c>, in the API, and in
/// <c>alert_transition</c>, where the dashboards' sector variable finds it).
/// </summary>
public sealed class NewSectorTests
{
    private const string WasteBinProfile = """
        {
          "id": "waste_bin",
          "version": "1.0.0",
          "sector": "waste",
          "deviceType": "waste_bin",
          "description": "Ultrasonic fill-level sensor under the lid of a street bin.",
          "expectedInterval": "00:15:00",
          "messages": {
            "telemetry": {
              "measurement": "waste_bin",
              "fields": [
                { "name": "fill_pct", "type": "float", "unit": "%", "required": true, "min": 0, "max": 100 },
                { "name": "battery_pct", "type": "float", "unit": "%", "min": 0, "max": 100 }
              ]
            }
          },
          "alerts": [
            { "rule": "bin_full", "severity": "minor", "kind": "threshold", "field": "fill_pct", "above": 90, "clear": 70 },
            { "rule": "device_offline", "severity": "major", "kind": "offline" }
          ]
        }
        """;

    [Fact]
    public async Task ConfiguredWasteSector_WasteBinProfileFile_StoredAndItsAlertRaisedAndRouted()
    {
        var folder = DeviceTestKit.NewProfileFolder();
        Directory.CreateDirectory(Path.Combine(folder, "waste_bin"));
        await File.WriteAllTextAsync(Path.Combine(folder, "waste_bin", "profile.json"), WasteBinProfile);
        var settings = DeviceTestKit.ProfilesDirectory(folder);
        string[] sectors = ["lighting", "education", "security", "waste"];
        for (var i = 0; i < sectors.Length; i++)
        {
            settings[$"Decoding:Sectors:{i}"] = sectors[i];
        }

        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: settings);
        var district = TestServers.UniqueName("wz");
        var states = new AlertStates();
        await using var watcher = await states.SubscribeAsync($"smartcity/alerts/waste/{district}/#");
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("bins-"), CancellationToken.None);

        var profiles = await DeviceTestKit.GetJsonAsync(worker, "/api/profiles");
        Assert.Empty(profiles.GetProperty("refused").EnumerateArray());
        Assert.Equal("waste", profiles.GetProperty("loaded").EnumerateArray().Single(p => p.GetProperty("id").GetString() == "waste_bin").GetProperty("sector").GetString());

        string Topic(string kind) => $"{worker.TopicRoot}/waste/{district}/market-square/waste_bin/bin-0001/{kind}";
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-2));
        await publisher.PublishTextAsync(Topic("status"), DeviceTestKit.Birth("waste_bin", t0, district, "market-square"), retain: true);
        await publisher.PublishTextAsync(Topic("telemetry"), $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(1))}}","fill_pct":40.5,"battery_pct":88}""");
        await publisher.PublishTextAsync(Topic("telemetry"), $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(61))}}","fill_pct":95.25}""");

        // Routed on the retained topic of its sector.
        var raised = await states.WaitForAsync(s => s.GetProperty("rule").GetString() == "bin_full", DeviceTestKit.Timeout);
        Assert.Equal(("bin-0001", "waste", "minor", "waste_bin"), (raised.GetProperty("deviceId").GetString(), raised.GetProperty("sector").GetString(), raised.GetProperty("severity").GetString(), raised.GetProperty("profileId").GetString()));

        using var http = worker.CreateClient();
        var listed = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?sector=waste&district={district}");
        Assert.Equal(raised.GetProperty("id").GetString(), Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());

        var s = await DeviceTestKit.WaitStoredAsync(worker, points: 3, deadLetters: 0);
        Assert.Equal(0, s.Rejected);
        var rows = await db.RowsAsync("SELECT fill_pct FROM waste_bin GROUP BY *");
        Assert.Equal([(t0.AddSeconds(1).ToUnixTimeMilliseconds(), 40.5), (t0.AddSeconds(61).ToUnixTimeMilliseconds(), 95.25)],
            rows.Select(r => (r.Row["time"].GetInt64(), r.Row["fill_pct"].GetDouble())).Order());
        Assert.All(rows, r => Assert.Equal(("waste", district, "waste_bin"), (r.Tags["sector"], r.Tags["district"], r.Tags["device_type"])));

        // The dashboards' sector variable (grafana/dashboards/alerts.json) is this query: the new sector appears by itself.
        var sectorsInAlerts = await StoredQuery.WaitForAsync(
            worker.Metrics,
            () => db.RowsAsync("SHOW TAG VALUES FROM \"alert_transition\" WITH KEY = \"sector\""),
            r => r.Count > 0,
            DeviceTestKit.Timeout);
        Assert.Contains(sectorsInAlerts, r => r.Row["value"].GetString() == "waste");
    }
}

using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Devices;

/// <summary>
/// Removing a device the MQTT way, by clearing its retained birth with a zero-length retained
/// publish (docs/device-contract.md, "Removing a device"), through mosquitto and the worker.
/// </summary>
public sealed class DeviceRemovalTests
{
    [Fact]
    public async Task RetainedBirthCleared_DeviceDecommissioned_CountedStoredNotDeadLettered_NoOfflineAlertAfterwards()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var district = TestServers.UniqueName("rm");
        var states = new AlertStates();
        await using var watcher = await states.SubscribeAsync($"smartcity/alerts/lighting/{district}/#");
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("rm-"), CancellationToken.None);
        string Topic(string id) => $"{worker.TopicRoot}/lighting/{district}/street-1/streetlight/{id}/status";
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-1));
        const string Will = """{"v":1,"online":false}""";
        var sent = 0;
        async Task SendAsync(string id, string payload)
        {
            await publisher.PublishTextAsync(Topic(id), payload, retain: true);
            sent++;
        }

        // lamp-a went offline (its will) and is then removed: the open alert resolves.
        await SendAsync("lamp-a", DeviceTestKit.Birth("streetlight", t0, district, "street-1"));
        await SendAsync("lamp-a", Will);
        var raised = await states.WaitForAsync(s => s.GetProperty("deviceId").GetString() == "lamp-a" && s.GetProperty("rule").GetString() == "device_offline", DeviceTestKit.Timeout);
        await SendAsync("lamp-a", "");
        var resolved = await states.WaitForAsync(s => s.GetProperty("id").GetString() == raised.GetProperty("id").GetString() && s.GetProperty("state").GetString() == "resolved", DeviceTestKit.Timeout);
        Assert.Null(resolved.GetProperty("resolvedBy").GetString());

        // lamp-b is removed first, then its connection drops (its will): no offline alert. lamp-c's
        // will, sent after it, is judged after it (one engine queue, in order): once lamp-c's alert is
        // out, lamp-b's will has been judged too.
        await SendAsync("lamp-b", DeviceTestKit.Birth("streetlight", t0, district, "street-1"));
        await SendAsync("lamp-c", DeviceTestKit.Birth("streetlight", t0, district, "street-1"));
        await SendAsync("lamp-b", "");
        await SendAsync("lamp-b", Will);
        await SendAsync("lamp-c", Will);
        await states.WaitForAsync(s => s.GetProperty("deviceId").GetString() == "lamp-c" && s.GetProperty("rule").GetString() == "device_offline", DeviceTestKit.Timeout);

        var s = await worker.Metrics.WaitUntilAsync(s => s.Acknowledged >= sent && s.PointsWritten >= sent, DeviceTestKit.Timeout);
        Assert.Equal((sent, sent, 0L, 0L, 2L), (s.Received, s.Accepted, s.Rejected, s.Ignored, s.DevicesRemoved));
        Assert.Equal(0, s.DeadLettersWritten);
        using var http = worker.CreateClient();
        var alerts = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?district={district}");
        Assert.DoesNotContain(alerts.EnumerateArray(), a => a.GetProperty("deviceId").GetString() == "lamp-b");
        Assert.Single(alerts.EnumerateArray(), a => a.GetProperty("deviceId").GetString() == "lamp-c" && a.GetProperty("state").GetString() != "resolved");
        var pipeline = await http.GetFromJsonAsync<JsonElement>("/api/pipeline");
        Assert.Equal(2, pipeline.GetProperty("devicesRemoved").GetInt64());

        var devices = (await DeviceTestKit.GetJsonAsync(worker, "/api/devices")).EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()).ToList();
        Assert.DoesNotContain("lamp-a", devices);
        Assert.Contains("lamp-c", devices);

        var removals = await db.RowsAsync("SELECT online, removed FROM device_status WHERE removed = true GROUP BY device_id");
        Assert.Equal(["lamp-a", "lamp-b"], removals.Select(r => r.Tags["device_id"]).Order(StringComparer.Ordinal));
        Assert.All(removals, r => Assert.False(r.Row["online"].GetBoolean()));
    }
}

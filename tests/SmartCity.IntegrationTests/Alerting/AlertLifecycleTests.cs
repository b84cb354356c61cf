using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Alerting;

/// <summary>
/// A forced door through the real broker and worker: the alert is raised once, its retained state
/// appears on MQTT, an operator acknowledges and resolves it through the API, every transition is
/// in InfluxDB, and a restarted worker keeps it without raising it again.
/// </summary>
public sealed class AlertLifecycleTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DoorForced_RaisedOnceRetainedOnMqttAcknowledgedAndResolvedByOperator_SurvivesRestart()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var district = TestServers.UniqueName("dz");
        using var webhook = new WebhookReceiver(failFirst: 1);
        var settings = new Dictionary<string, string?> { ["Alerting:Webhook:Url"] = webhook.Url, ["Alerting:Webhook:SigningKey"] = "city-secret" };
        var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: settings);
        var root = worker.TopicRoot;
        var states = new AlertStates();
        await using var watcher = await states.SubscribeAsync($"smartcity/alerts/security/{district}/#");

        await using var door = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("door-"), CancellationToken.None);
        var topic = $"{root}/security/{district}/town-hall/door_contact/door-0001";
        var now = DateTimeOffset.UtcNow;
        await Publish(door, topic + "/status", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-3))}}","online":true,"profile":"door_contact","district":"{{district}}","site":"town-hall"}""", retain: true);
        var forced = $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-2))}}","event":"forced","detail":"contact broken open"}""";
        await Publish(door, topic + "/event", forced);
        // The same event again (a redelivery) and a second forcing while the alert is open: still one alert.
        await Publish(door, topic + "/event", forced);
        await Publish(door, topic + "/event", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-1))}}","event":"forced"}""");

        var raised = await states.WaitForAsync(s => s.GetProperty("rule").GetString() == "door_forced", Timeout);
        var id = raised.GetProperty("id").GetString()!;
        Assert.Equal("critical", raised.GetProperty("severity").GetString());
        Assert.Equal("door-0001", raised.GetProperty("deviceId").GetString());

        using var http = worker.CreateClient(TestApiKeys.Operator);
        var open = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?state=open&district={district}");
        Assert.Single(open.EnumerateArray(), a => a.GetProperty("rule").GetString() == "door_forced");

        // Nobody acts without a key, a viewer may look but not act, and nobody acts in another's name.
        using (var anonymous = worker.CreateClient(null))
        using (var response = await anonymous.PostAsJsonAsync($"/api/alerts/{id}/acknowledge", new { comment = "who am I?" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        using (var viewer = worker.CreateClient(TestApiKeys.Viewer))
        using (var response = await viewer.PostAsJsonAsync($"/api/alerts/{id}/acknowledge", new { comment = "only looking" }))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        using (var impersonating = await http.PostAsJsonAsync($"/api/alerts/{id}/acknowledge", new { by = "bob", comment = "as bob" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, impersonating.StatusCode);
        }

        // The operator acknowledges: recorded under the key's name, with when and the comment, and published.
        using (var ack = await http.PostAsJsonAsync($"/api/alerts/{id}/acknowledge", new { comment = "patrol on its way" }))
        {
            Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        }

        var acknowledged = await states.WaitForAsync(s => s.GetProperty("id").GetString() == id && s.GetProperty("state").GetString() == "acknowledged", Timeout);
        Assert.Equal("anna.operator", acknowledged.GetProperty("acknowledgedBy").GetString());
        Assert.Equal("patrol on its way", acknowledged.GetProperty("acknowledgedComment").GetString());
        using (var admin = worker.CreateClient(TestApiKeys.Admin))
        using (var again = await admin.PostAsJsonAsync($"/api/alerts/{id}/acknowledge", new { comment = "me too" }))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }

        using (var missing = await http.PostAsJsonAsync("/api/alerts/no-such-alert/resolve", new { comment = "which one?" }))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        // The worker restarts: the acknowledged alert is still there, with its history, and not raised again.
        await worker.DisposeAsync();
        await using var restarted = await TestWorker.StartAsync(db, topicRoot: root, clientId: clientId, overrides: settings);
        using var http2 = restarted.CreateClient(TestApiKeys.Operator);
        var kept = await http2.GetFromJsonAsync<JsonElement>($"/api/alerts/{id}");
        Assert.Equal("acknowledged", kept.GetProperty("state").GetString(), ignoreCase: true);
        Assert.Contains(kept.GetProperty("history").EnumerateArray(), h =>
            h.TryGetProperty("by", out var by) && by.GetString() == "anna.operator" && h.GetProperty("comment").GetString() == "patrol on its way");
        await Publish(door, topic + "/event", forced);

        using (var resolve = await http2.PostAsJsonAsync($"/api/alerts/{id}/resolve", new { comment = "door secured" }))
        {
            Assert.Equal(HttpStatusCode.OK, resolve.StatusCode);
        }

        await states.WaitForAsync(s => s.GetProperty("id").GetString() == id && s.GetProperty("state").GetString() == "resolved", Timeout);
        var all = await http2.GetFromJsonAsync<JsonElement>($"/api/alerts?district={district}");
        Assert.Single(all.EnumerateArray(), a => a.GetProperty("rule").GetString() == "door_forced");

        // Every transition is in InfluxDB for Grafana (written through the spool: re-query after each batch).
        var transitions = await StoredQuery.WaitForAsync(
            restarted.Metrics,
            async () => (await db.RowsAsync($"SELECT alert_id, \"by\" FROM alert_transition WHERE alert_id = '{id}' GROUP BY \"transition\""))
                .Select(r => r.Tags["transition"]).Distinct().Order().ToList(),
            t => t.Count >= 3,
            Timeout);

        Assert.Equal(["acknowledged", "raised", "resolved"], transitions);

        // The webhook got each transition once (the first attempt was answered 503 and retried), each signed.
        var calls = await webhook.WaitForAsync(c => c.Count(x => x.Alert == id) >= 3, Timeout);
        Assert.Equal(["raised", "acknowledged", "resolved"], calls.Where(c => c.Alert == id).Select(c => c.Event));
        Assert.All(calls, c => Assert.Equal(SmartCity.Telemetry.Alerting.Notifiers.Webhook.WebhookNotifier.Sign("city-secret", c.Timestamp, c.Body), c.Signature));
        Assert.Equal(1, webhook.Refused);
    }

    private static string Ts(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static Task Publish(MqttPublisher publisher, string topic, string json, bool retain = false) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, retain, CancellationToken.None);
}

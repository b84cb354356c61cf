using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.IntegrationTests.Devices;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Alerting;

/// <summary>
/// Issue 22 on the real broker and worker: a worker back from an outage to a queue of messages
/// raises no device offline whose messages were queued (only the one that really went silent,
/// once); a will-raised offline carries the device time of the device's last message in the API
/// and in <c>alert_transition</c>; an event alert with a quiet period resolves by itself while
/// one without (panic) stays open.
/// </summary>
public sealed class AlertClockIntegrationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>
    /// A pulse meter reporting every 5 seconds (offline after 15), so that an outage of six intervals
    /// lasts 30 seconds instead of the street lights' 30 minutes; a motion rule that resolves after a
    /// minute without motion, and a panic rule that never resolves by itself.
    /// </summary>
    private const string Profile = """
        {
          "id": "pulse_meter",
          "version": "1.0.0",
          "sector": "security",
          "deviceType": "pulse_meter",
          "expectedInterval": "00:00:05",
          "messages": {
            "telemetry": { "measurement": "pulse_meter", "versions": [1], "fields": [ { "name": "count", "type": "int", "min": 0, "max": 1000000000 } ] },
            "event": { "measurement": "pulse_event", "versions": [1], "fields": [ { "name": "event", "type": "enum", "required": true, "values": ["motion", "pressed"] } ] }
          },
          "alerts": [
            { "rule": "motion_seen", "severity": "major", "kind": "event", "event": "motion", "resolveAfterQuiet": "00:01:00" },
            { "rule": "panic", "severity": "critical", "kind": "event", "event": "pressed" },
            { "rule": "device_offline", "severity": "major", "kind": "offline" }
          ]
        }
        """;

    private static Dictionary<string, string?> WithProfile()
    {
        var folder = DeviceTestKit.NewProfileFolder();
        File.WriteAllText(Path.Combine(folder, "pulse_meter.json"), Profile);
        return DeviceTestKit.ProfilesDirectory(folder);
    }

    [Fact]
    public async Task Restart_AfterAnOutageWith500DevicesPublishing_NoQueuedDeviceRaisedOffline_TheSilentOneOnce()
    {
        const int Devices = 500;
        var interval = TimeSpan.FromSeconds(5);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var district = TestServers.UniqueName("dz");
        var settings = WithProfile();
        var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: settings);
        var root = worker.TopicRoot;
        await using var fleet = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("fleet-"), CancellationToken.None);
        var ids = Enumerable.Range(1, Devices).Select(i => $"pm-{i:D4}").ToList();
        const string Silent = "pm-dead";
        string Topic(string id) => $"{root}/security/{district}/plant/pulse_meter/{id}";
        foreach (var id in ids.Append(Silent))
        {
            await Publish(fleet, Topic(id) + "/status", Birth(DateTimeOffset.UtcNow), retain: true);
        }

        // Each round: one reading of every device, stamped with its own clock, one interval apart.
        var rounds = 0;
        async Task RoundAsync(bool silentToo)
        {
            var started = DateTimeOffset.UtcNow;
            // Sixteen publishes in flight, not one: one at a time, a round of 500 took longer than the offline limit
            // (15 s) on a loaded machine, and the last devices of the round were raised offline (full run, load 40).
            foreach (var chunk in (silentToo ? ids.Append(Silent) : ids).Chunk(16))
            {
                await Task.WhenAll(chunk.Select(id => Publish(fleet, Topic(id) + "/telemetry", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(DateTimeOffset.UtcNow)}}","count":{{rounds}}}""")));
            }

            Interlocked.Increment(ref rounds); // read by the test while the fleet paces itself
            var due = interval - (DateTimeOffset.UtcNow - started);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due); // pacing the devices at their interval, not waiting for a result
            }
        }

        // The devices keep their own pace throughout, as a city's do, while the test stops, restarts and waits for
        // the worker: a fleet that paused meanwhile (36 s under load: the restart plus the wait for the silent one)
        // was really silent in its own time, and the restarted worker rightly raised the devices whose readings
        // of after the pause it had not drained yet. The silent one publishes the first two rounds only.
        using var stopFleet = new CancellationTokenSource();
        var pacing = Task.Run(async () =>
        {
            while (!stopFleet.IsCancellationRequested)
            {
                await RoundAsync(silentToo: Volatile.Read(ref rounds) < 2);
            }
        });
        int Rounds() => Volatile.Read(ref rounds);
        await UntilAsync(pacing, () => Rounds() >= 2);
        await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync("SELECT count(\"count\") FROM pulse_meter"), n => n >= 2 * (Devices + 1), Timeout);

        // The worker stops for six intervals (twice the offline limit); the devices go on, but one dies.
        await worker.DisposeAsync();
        var stopped = Rounds();
        await UntilAsync(pacing, () => Rounds() >= stopped + 6);

        // The restarted worker takes the queue one message per spool commit (Receive Maximum 1): the
        // backlog drains over several ticks, as a city's would, instead of before the first one.
        var slowDrain = new Dictionary<string, string?>(settings) { ["Mqtt:ReceiveMaximum"] = "1" };
        await using var restarted = await TestWorker.StartAsync(db, topicRoot: root, clientId: clientId, overrides: slowDrain);
        using var http = restarted.CreateClient(TestApiKeys.Operator);

        // The silent device is raised (its last reading is more than the limit behind what the queue holds) ...
        await WaitForAsync(http, district, a => a.GetProperty("rule").GetString() == "device_offline", Timeout);

        // ... and live rounds go on past the offline limit plus a tick, every reading stored.
        var back = Rounds();
        await UntilAsync(pacing, () => Rounds() >= back + 5);
        await stopFleet.CancelAsync();
        await pacing;

        var expected = (2 * (Devices + 1)) + ((rounds - 2) * Devices);
        await StoredQuery.WaitForAsync(restarted.Metrics, () => db.CountAsync("SELECT count(\"count\") FROM pulse_meter"), n => n >= expected, Timeout);
        var alerts = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?district={district}");
        var offline = alerts.EnumerateArray().Where(a => a.GetProperty("rule").GetString() == "device_offline").ToList();
        var only = Assert.Single(offline);
        Assert.Equal(Silent, only.GetProperty("deviceId").GetString());
        Assert.Equal("raised", only.GetProperty("state").GetString());
        var raisedRows = await StoredQuery.WaitForAsync(
            restarted.Metrics,
            () => db.CountAsync($"SELECT count(alert_id) FROM alert_transition WHERE \"rule\" = 'device_offline' AND district = '{district}' AND \"transition\" = 'raised'"),
            n => n >= 1,
            Timeout);
        Assert.Equal(1, raisedRows);
    }

    [Fact]
    public async Task LastWill_RaisesOffline_WithTheDeviceTimeOfItsLastMessage_InApiAndInflux()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dz");
        await using var worker = await TestWorker.StartAsync(db, overrides: WithProfile());
        await using var device = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("pm-"), CancellationToken.None);
        var topic = $"{worker.TopicRoot}/security/{district}/plant/pulse_meter/pm-0001";
        var lastMessage = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.AddSeconds(-2).ToUnixTimeMilliseconds());
        await Publish(device, topic + "/status", Birth(lastMessage.AddSeconds(-1)), retain: true);
        await Publish(device, topic + "/telemetry", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(lastMessage)}}","count":7}""");
        await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync("SELECT count(\"count\") FROM pulse_meter"), n => n >= 1, Timeout);

        await Publish(device, topic + "/status", """{"v":1,"online":false}""", retain: true); // the will, as the broker sends it

        using var http = worker.CreateClient();
        var alert = await WaitForAsync(http, district, a => a.GetProperty("rule").GetString() == "device_offline", Timeout);
        var raised = alert.GetProperty("history")[0];
        Assert.Equal("raised", raised.GetProperty("kind").GetString());
        Assert.Equal(lastMessage, raised.GetProperty("deviceTime").GetDateTimeOffset());
        var id = alert.GetProperty("id").GetString();
        var rows = await StoredQuery.WaitForAsync(
            worker.Metrics,
            () => db.RowsAsync($"SELECT device_time FROM alert_transition WHERE alert_id = '{id}'"),
            r => r.Count >= 1,
            Timeout);
        Assert.Equal(DeviceTestKit.Ts(lastMessage), Assert.Single(rows).Row["device_time"].GetString());
    }

    [Fact]
    public async Task EventAlerts_MotionResolvesAfterItsQuietPeriod_PanicStaysOpen()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dz");
        await using var worker = await TestWorker.StartAsync(db, overrides: WithProfile());
        await using var device = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("pm-"), CancellationToken.None);
        var topic = $"{worker.TopicRoot}/security/{district}/plant/pulse_meter/pm-0001";
        await Publish(device, topic + "/status", Birth(DateTimeOffset.UtcNow.AddSeconds(-1)), retain: true);
        await Publish(device, topic + "/event", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(DateTimeOffset.UtcNow)}}","event":"motion"}""");
        await Publish(device, topic + "/event", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(DateTimeOffset.UtcNow)}}","event":"pressed"}""");

        // The device keeps reporting while the test waits, so it is never offline meanwhile.
        Task Report() => Publish(device, topic + "/telemetry", $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(DateTimeOffset.UtcNow)}}","count":1}""");
        using var http = worker.CreateClient();
        var motion = await WaitForAsync(http, district, a => a.GetProperty("rule").GetString() == "motion_seen", Timeout, Report);
        Assert.Equal("raised", motion.GetProperty("state").GetString());

        // A minute without motion resolves it.
        var resolved = await WaitForAsync(
            http,
            district,
            a => a.GetProperty("rule").GetString() == "motion_seen" && a.GetProperty("state").GetString() == "resolved",
            Timeout,
            Report);
        Assert.False(resolved.TryGetProperty("resolvedBy", out var by) && by.ValueKind == JsonValueKind.String);
        Assert.True((resolved.GetProperty("resolvedAt").GetDateTimeOffset() - motion.GetProperty("lastOccurrenceAt").GetDateTimeOffset()) >= TimeSpan.FromMinutes(1));

        var open = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?state=open&district={district}");
        Assert.Equal(["panic"], open.EnumerateArray().Select(a => a.GetProperty("rule").GetString()));
    }

    /// <summary>Until <paramref name="done"/> holds (a condition polled, with a generous deadline); a failed fleet fails the test at once.</summary>
    private static async Task UntilAsync(Task pacing, Func<bool> done)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(200));
        while (!done())
        {
            if (pacing.IsCompleted)
            {
                await pacing;
            }

            await poll.WaitForNextTickAsync(deadline.Token);
        }
    }

    /// <summary>Polls the API (the worker's state, not a timer) until an alert of the district matches.</summary>
    private static async Task<JsonElement> WaitForAsync(HttpClient http, string district, Func<JsonElement, bool> match, TimeSpan timeout, Func<Task>? between = null)
    {
        using var cts = new CancellationTokenSource(timeout);
        using var poll = new PeriodicTimer(TimeSpan.FromSeconds(1));
        while (true)
        {
            var alerts = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?district={district}", cts.Token);
            foreach (var a in alerts.EnumerateArray())
            {
                if (match(a))
                {
                    return a;
                }
            }

            if (between is not null)
            {
                await between();
            }

            await poll.WaitForNextTickAsync(cts.Token);
        }
    }

    private static string Birth(DateTimeOffset ts) =>
        $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(ts)}}","online":true,"profile":"pulse_meter","firmware":"1.0.0"}""";

    private static Task Publish(MqttPublisher publisher, string topic, string json, bool retain = false) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, retain, CancellationToken.None);
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using MQTTnet;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Publishing;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.IntegrationTests.Alerting;

/// <summary>
/// The alerting acceptance run: <c>simulators/scenarios/alerting-acceptance.json</c> (a lamp fails
/// at night, a door is forced, a classroom's CO2 climbs during a lesson, a lamp burns by day, a
/// camera goes offline) through the real mosquitto into the real worker, which is restarted at
/// 06:00 of the simulated day. Each expected alert is checked in every place an operator or a
/// system would look: the API (state and history), the retained MQTT state, the webhook calls and
/// the <c>alert_transition</c> records in InfluxDB. No alert may be raised twice.
/// </summary>
public sealed class AlertScenarioTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    /// <summary>What each expected alert must have gone through by the end of the day.</summary>
    private static readonly Dictionary<(string Device, string Rule), string[]> Lifecycles = new()
    {
        // Raised by the controller's fault flag at 01:00, resolved by the engine when it clears at 04:00.
        [("lamp-000012", "lamp_failure")] = ["raised", "resolved"],
        // Raised at 02:30, acknowledged by an operator before the restart, resolved by her after it.
        [("door-000001", "door_forced")] = ["raised", "acknowledged", "resolved"],
        // The armed panel's alarm, cleared by the panel itself (alarm_cleared).
        [("panel-000001", "intrusion_alarm")] = ["raised", "resolved"],
        // CO2 above 1,500 ppm for 10 minutes during the 08:30 lesson, cleared below 1,200 ppm.
        [("cls-000003", "co2_high")] = ["raised", "resolved"],
        // On for 30 minutes while the sun is up, from 11:00; off again at 14:00.
        [("lamp-000021", "day_burning")] = ["raised", "resolved"],
        // The camera's will at 15:00, its birth at 15:40.
        [("cam-000002", "device_offline")] = ["raised", "resolved"],
    };

    [Fact]
    public async Task AlertingAcceptance_ThroughMosquittoWithARestart_EachAlertOnceWithItsLifecycleEverywhere()
    {
        var loaded = LoadScenario();
        Assert.Equal(Lifecycles.Keys.Order(), loaded.ExpectedAlerts.Select(e => (e.Device, e.Rule)).Order());
        var districts = new[] { TestServers.UniqueName("da"), TestServers.UniqueName("db") };
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        using var webhook = new WebhookReceiver(failFirst: 0);
        var settings = new Dictionary<string, string?> { ["Alerting:Webhook:Url"] = webhook.Url, ["Alerting:Webhook:SigningKey"] = "acceptance" };
        var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: settings);
        var root = worker.TopicRoot;
        var start = PastSchoolDay();
        var scenario = loaded with { Start = start, TopicRoot = root, Districts = districts };
        int total;
        using (var generator = new CityGenerator(scenario, start, start + scenario.Duration))
        {
            total = generator.Messages().Count();
        }

        var states = new AlertStates();
        await using var watcher = await states.SubscribeAsync("smartcity/alerts/+/" + districts[0] + "/#");
        await using var watcher2 = await states.SubscribeAsync("smartcity/alerts/+/" + districts[1] + "/#");

        // The day runs as fast as the broker takes it (device timestamps are the simulated day's),
        // and stops at 06:00 until the test lets it go on.
        var counters = new RunCounters();
        var options = new ScenarioRunOptions { Broker = TestWorker.Broker, ClientIdPrefix = TestServers.UniqueName("sim-"), Gateways = 2, Load = true };
        await using var gateways = new GatewayTransport(options.Broker, options.ClientIdPrefix, options.Gateways, options.InFlight, options.Qos, counters);
        var transport = new PauseAt(gateways, start.AddHours(6));
        var run = Task.Run(() => ScenarioRunner.RunAsync(scenario, options, transport, counters, TimeProvider.System));
        await transport.Reached.Task.WaitAsync(Timeout);

        // First half: the night's alerts, then an operator acknowledges the forced door.
        var lampFailure = await states.WaitForAsync(s => Is(s, "lamp-000012", "lamp_failure", "resolved"), Timeout);
        var forced = await states.WaitForAsync(s => Is(s, "door-000001", "door_forced", "raised"), Timeout);
        await states.WaitForAsync(s => Is(s, "panel-000001", "intrusion_alarm", "resolved"), Timeout);
        var forcedId = forced.GetProperty("id").GetString()!;
        using (var http = worker.CreateClient(TestApiKeys.Operator))
        using (var ack = await http.PostAsJsonAsync($"/api/alerts/{forcedId}/acknowledge", new { comment = "patrol sent" }))
        {
            Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        }

        await states.WaitForAsync(s => s.GetProperty("id").GetString() == forcedId && State(s) == "acknowledged", Timeout);

        // The worker stops (gracefully) and a new one takes over the same session, spool and alert state.
        await worker.Metrics.WaitUntilAsync(s => s.Received >= transport.SentBeforePause && s.SpoolDepth == 0, Timeout);
        await worker.DisposeAsync();
        await using var restarted = await TestWorker.StartAsync(db, topicRoot: root, clientId: clientId, overrides: settings);
        transport.Resume.SetResult();
        var result = await run.WaitAsync(Timeout);
        Assert.Equal((total, 0L), (result.Acknowledged, result.Failed));

        await states.WaitForAsync(s => Is(s, "cls-000003", "co2_high", "resolved"), Timeout);
        await states.WaitForAsync(s => Is(s, "lamp-000021", "day_burning", "resolved"), Timeout);
        await states.WaitForAsync(s => Is(s, "cam-000002", "device_offline", "resolved"), Timeout);
        await restarted.Metrics.WaitUntilAsync(s => s.SpoolDepth == 0 && s.Received > 0, Timeout);

        using var api = restarted.CreateClient(TestApiKeys.Operator);
        var before = await AlertsAsync(api, districts);
        Assert.Equal("acknowledged", State(before.Single(a => a.GetProperty("id").GetString() == forcedId)));
        using (var resolve = await api.PostAsJsonAsync($"/api/alerts/{forcedId}/resolve", new { comment = "door repaired" }))
        {
            Assert.Equal(HttpStatusCode.OK, resolve.StatusCode);
        }

        await states.WaitForAsync(s => s.GetProperty("id").GetString() == forcedId && State(s) == "resolved", Timeout);

        // The API: exactly one alert per expected (device, rule), nothing else, each with its lifecycle.
        var alerts = await AlertsAsync(api, districts);
        var byKey = alerts.GroupBy(a => (a.GetProperty("deviceId").GetString()!, a.GetProperty("rule").GetString()!)).ToList();
        Assert.True(byKey.All(g => g.Count() == 1), "raised more than once: " + string.Join(", ", byKey.Where(g => g.Count() > 1).Select(g => g.Key)));
        Assert.Equal(Lifecycles.Keys.Order(), byKey.Select(g => g.Key).Order());
        foreach (var alert in alerts)
        {
            var key = (alert.GetProperty("deviceId").GetString()!, alert.GetProperty("rule").GetString()!);
            Assert.Equal(Lifecycles[key], History(alert));
            Assert.Equal("resolved", State(alert));
        }

        var door = alerts.Single(a => a.GetProperty("id").GetString() == forcedId);
        Assert.Equal(("anna.operator", "patrol sent", "anna.operator"), (door.GetProperty("acknowledgedBy").GetString(), door.GetProperty("acknowledgedComment").GetString(), door.GetProperty("resolvedBy").GetString()));
        var lamp = alerts.Single(a => a.GetProperty("rule").GetString() == "lamp_failure");
        Assert.Equal(JsonValueKind.Null, lamp.GetProperty("resolvedBy").ValueKind); // the engine resolved it

        // Each alert was raised when its device said the condition began, on the simulated day.
        foreach (var expected in scenario.ExpectedAlerts)
        {
            var alert = alerts.Single(a => a.GetProperty("deviceId").GetString() == expected.Device && a.GetProperty("rule").GetString() == expected.Rule);
            var raisedEntry = alert.GetProperty("history")[0];
            // Every entry carries device time (issue 22): an offline alert raised by a last will, which has
            // none of its own, records the device time of the device's last message. That is the last report
            // before the fault, so at most one reporting interval (the camera's, in the scenario) before it.
            Assert.Equal(JsonValueKind.String, raisedEntry.GetProperty("deviceTime").ValueKind);
            var deviceTime = raisedEntry.GetProperty("deviceTime").GetDateTimeOffset();
            var lastReportBefore = expected.Rule == "device_offline" ? scenario.Intervals[SmartCity.Simulators.Devices.DeviceType.Camera] : TimeSpan.Zero;
            Assert.InRange(deviceTime, start + expected.At - lastReportBefore, start + expected.At + expected.Within);
        }

        // Webhook: every transition of every alert exactly once, in order.
        var ids = alerts.ToDictionary(a => a.GetProperty("id").GetString()!, a => (a.GetProperty("deviceId").GetString()!, a.GetProperty("rule").GetString()!));
        var calls = await webhook.WaitForAsync(c => c.Count(x => ids.ContainsKey(x.Alert)) >= Lifecycles.Values.Sum(l => l.Length), Timeout);
        foreach (var (id, key) in ids)
        {
            Assert.Equal(Lifecycles[key], calls.Where(c => c.Alert == id).Select(c => c.Event));
        }

        // Retained MQTT: a control room connecting now gets each alert's final state, and nothing else.
        var fresh = new AlertStates();
        await using (await fresh.SubscribeAsync("smartcity/alerts/+/" + districts[0] + "/#"))
        await using (await fresh.SubscribeAsync("smartcity/alerts/+/" + districts[1] + "/#"))
        {
            foreach (var id in ids.Keys)
            {
                var retained = await fresh.WaitForAsync(s => s.GetProperty("id").GetString() == id, Timeout);
                Assert.Equal("resolved", State(retained));
            }
        }

        // InfluxDB: one alert_transition record per step of every alert, no more.
        var expectedRecords = Lifecycles.Values.Sum(l => l.Length);
        var idList = string.Join(" OR ", ids.Keys.Select(id => $"\"alert_id\" = '{id}'"));
        var rows = await StoredQuery.WaitForAsync(
            restarted.Metrics,
            () => db.RowsAsync($"SELECT \"alert_id\", \"state\", \"by\" FROM \"alert_transition\" WHERE {idList} GROUP BY \"transition\", \"rule\", \"device_id\""),
            r => r.Count >= expectedRecords,
            Timeout);

        foreach (var (id, key) in ids)
        {
            var mine = rows.Where(r => r.Row["alert_id"].GetString() == id).ToList();
            Assert.Equal(Lifecycles[key].Order(), mine.Select(r => r.Tags["transition"]).Order());
            Assert.All(mine, r => Assert.Equal((key.Item1, key.Item2), (r.Tags["device_id"], r.Tags["rule"])));
        }

        Assert.Equal(expectedRecords, rows.Count);
    }

    [Fact]
    public async Task CabinetMainsLoss_ItsLampsWillsAreListedOnTheCabinetsAlert_NoOfflineAlertPerLamp()
    {
        var loaded = LoadScenario("lighting-faults");
        var districts = new[] { TestServers.UniqueName("da"), TestServers.UniqueName("db") };
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var start = PastSchoolDay();
        var scenario = loaded with { Start = start, TopicRoot = worker.TopicRoot, Districts = districts };
        List<ScenarioMessage> stream;
        using (var generator = new CityGenerator(scenario, start, start + scenario.Duration))
        {
            stream = generator.Messages().ToList();
        }

        // The lamps the cabinet feeds, as their births say (and the lamps that lose their connection with it).
        var fed = stream.Where(m => m.Topic.EndsWith("/status", StringComparison.Ordinal) && JsonDocument.Parse(m.Payload).RootElement.TryGetProperty("parent", out var p) && p.GetString() == "cab-000002")
            .Select(m => m.DeviceId).ToHashSet();
        var wills = stream.Where(m => m.Action == ConnectionAction.Will && m.DeviceType == DeviceType.StreetLight).Select(m => m.DeviceId).ToHashSet();
        Assert.NotEmpty(wills);
        Assert.Subset(fed, wills);

        var states = new AlertStates();
        await using var watcher = await states.SubscribeAsync("smartcity/alerts/lighting/" + districts[0] + "/#");
        await using var watcher2 = await states.SubscribeAsync("smartcity/alerts/lighting/" + districts[1] + "/#");
        var counters = new RunCounters();
        var options = new ScenarioRunOptions { Broker = TestWorker.Broker, ClientIdPrefix = TestServers.UniqueName("sim-"), Gateways = 1, Load = true };
        await using (var transport = new GatewayTransport(options.Broker, options.ClientIdPrefix, options.Gateways, options.InFlight, options.Qos, counters))
        {
            var result = await ScenarioRunner.RunAsync(scenario, options, transport, counters, TimeProvider.System);
            Assert.Equal((stream.Count, 0L), (result.Acknowledged, result.Failed));
        }

        var mains = await states.WaitForAsync(s => Is(s, "cab-000002", "mains_loss", "resolved"), Timeout);
        await states.WaitForAsync(s => Is(s, "lamp-000005", "day_burning", "resolved"), Timeout); // a later alert: the day went through
        await worker.Metrics.WaitUntilAsync(s => s.SpoolDepth == 0 && s.Received >= stream.Count, Timeout);

        using var api = worker.CreateClient();
        var alerts = await AlertsAsync(api, districts);
        var lampOffline = alerts.Where(a => a.GetProperty("rule").GetString() == "device_offline" && wills.Contains(a.GetProperty("deviceId").GetString()!)).ToList();
        Assert.True(lampOffline.Count == 0, $"{lampOffline.Count} lamps of the dark cabinet raised device_offline alerts of their own");
        var cabinet = Assert.Single(alerts, a => a.GetProperty("rule").GetString() == "mains_loss");
        Assert.Equal(mains.GetProperty("id").GetString(), cabinet.GetProperty("id").GetString());
        Assert.Equal(["raised", "resolved"], History(cabinet));
        var affected = cabinet.GetProperty("affected").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal(wills.Order(), affected.Order());
    }

    private static bool Is(JsonElement state, string device, string rule, string stateName) =>
        state.GetProperty("deviceId").GetString() == device && state.GetProperty("rule").GetString() == rule && State(state) == stateName;

    private static string State(JsonElement alert) => alert.GetProperty("state").GetString()!.ToLowerInvariant();

    private static string[] History(JsonElement alert) =>
        [.. alert.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()!.ToLowerInvariant())];

    private static async Task<List<JsonElement>> AlertsAsync(HttpClient api, string[] districts)
    {
        var all = new List<JsonElement>();
        foreach (var d in districts)
        {
            all.AddRange((await api.GetFromJsonAsync<JsonElement>($"/api/alerts?district={d}")).EnumerateArray());
        }

        return all;
    }

    private static Scenario LoadScenario(string name = "alerting-acceptance")
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !Directory.Exists(Path.Combine(dir.FullName, "simulators", "scenarios")))
        {
            dir = dir.Parent;
        }

        return Scenario.Load(Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("simulators/scenarios"), "simulators", "scenarios", name + ".json"));
    }

    /// <summary>
    /// Local midnight (Utrecht) of the latest Tuesday, Wednesday or Thursday whose whole day lies in
    /// the past: a school day (the worker's default school calendar), never in the future.
    /// </summary>
    private static DateTimeOffset PastSchoolDay()
    {
        var zone = TimeZoneInfo.FindSystemTimeZoneById("Europe/Amsterdam");
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow, zone).DateTime);
        var day = today.AddDays(-1);
        while (day.DayOfWeek is not (DayOfWeek.Tuesday or DayOfWeek.Wednesday or DayOfWeek.Thursday))
        {
            day = day.AddDays(-1);
        }

        var midnight = day.ToDateTime(TimeOnly.MinValue);
        return new DateTimeOffset(midnight, zone.GetUtcOffset(midnight));
    }

    /// <summary>Hands messages to the gateways until the first one due at <paramref name="at"/>, then waits to be resumed.</summary>
    private sealed class PauseAt(IScenarioTransport inner, DateTimeOffset at) : IScenarioTransport
    {
        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Resume { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long SentBeforePause { get; private set; }

        public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);

        public async ValueTask SendAsync(ScenarioMessage message, CancellationToken cancellationToken)
        {
            if (!Reached.Task.IsCompleted)
            {
                if (message.SimTime >= at)
                {
                    await inner.FlushAsync(cancellationToken);
                    Reached.SetResult();
                    await Resume.Task.WaitAsync(cancellationToken);
                }
                else
                {
                    SentBeforePause++;
                }
            }

            await inner.SendAsync(message, cancellationToken);
        }

        public Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the gateways are disposed by the test
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.IntegrationTests.Lighting;
using SmartCity.Telemetry.Lighting;
using static SmartCity.IntegrationTests.Talq.TalqPayloadSamples;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>One Prism mock of the gateway API for the tests of a class (it keeps no state between requests).</summary>
public sealed class PrismGatewayFixture : IAsyncLifetime
{
    public PrismGatewayMock Mock { get; private set; } = null!;

    public async Task InitializeAsync() => Mock = await PrismGatewayMock.StartAsync();

    public async Task DisposeAsync() => await Mock.DisposeAsync();
}

/// <summary>
/// Issue 27, one scheduler per lamp: a TALQ lamp gets its schedule as its gateway's calendar (control programs, then the
/// calendar, then an AssignCommand naming the lamp; a lamp announced later too), every request accepted by the validating
/// mock of the gateway API; the worker's own schedule engine then sends it no step, while an MQTT lamp of the same
/// schedule gets each step and an operator command still reaches the TALQ lamp, as an override lasting until the next step.
/// </summary>
public sealed class TalqCalendarTests(PrismGatewayFixture prism) : IClassFixture<PrismGatewayFixture>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    // 22:50 in Utrecht on a winter evening: the lamps are on (sunset ~16:30), the 23:00 step is ten minutes away.
    private static readonly DateTimeOffset Evening = new(2026, 12, 7, 21, 50, 0, TimeSpan.Zero);

    /// <summary>A district-wide schedule and one for the site "quay", which the gateway's lamps follow.</summary>
    private static string ScheduleFile(string district)
    {
        var path = Path.Combine(Path.GetTempPath(), "smartcity-it-data", TestServers.UniqueName("sched-") + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $$"""
            { "schedules": [
              { "id": "night-{{district}}", "district": "{{district}}", "onLevel": 100, "steps": [ { "at": "00:00", "dimPct": 40 } ] },
              { "id": "quay-{{district}}", "district": "{{district}}", "site": "quay", "onOffset": "-00:15:00", "offOffset": "00:10:00", "onLevel": 100,
                "steps": [ { "at": "23:00", "dimPct": 50 }, { "at": "05:00", "dimPct": 100 } ] } ] }
            """);
        return path;
    }

    private static async Task<TestWorker> StartAsync(InfluxTestDatabase db, TalqGatewayStandIn gateway, GatewayRecorder recorder, TimeProvider? clock = null, string confirmTimeout = "00:10:00") =>
        await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Talq:MappingFile"] = gateway.WriteMappingFileWithApi(recorder.BaseUrl),
            ["Talq:SyncInterval"] = "00:00:00.200",
            ["Lighting:SchedulesFile"] = ScheduleFile(gateway.District),
            ["Lighting:TickInterval"] = "00:00:00.200",
            ["Lighting:ConfirmTimeout"] = confirmTimeout,
            // On the fake clock the spool's group commit would wait for time that does not pass (a TALQ request waits until stored).
            ["Spool:CommitInterval"] = "00:00:00",
        }, time: clock);

    private static Task AnnounceAsync(HttpClient talq, TalqGatewayStandIn gateway, Guid lamp) => AnnounceAsync(talq, gateway, Lamp(lamp, "Quay " + lamp.ToString()[..4]));

    private static async Task AnnounceAsync(HttpClient talq, TalqGatewayStandIn gateway, object device)
    {
        using var response = await talq.PostAsync(new Uri(gateway.Query("/devices"), UriKind.Relative), new StringContent(Body(new[] { device }), System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A log report of the lamp at <paramref name="level"/> (with its power: telemetry needs both).</summary>
    private static async Task ReportAsync(HttpClient talq, TalqGatewayStandIn gateway, Guid lamp, int level, DateTimeOffset ts)
    {
        var body = Body(Report(Attribute(lamp, "actuator", ts, "actualLightState", Level(level)), Attribute(lamp, "monitor", ts, "activePower", Float(level * 0.6))));
        using var response = await talq.PostAsync(new Uri(gateway.Query("/log-reports"), UriKind.Relative), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private static async Task<JsonElement[]> HistoryAsync(HttpClient client, Guid lamp, Func<JsonElement[], bool> until) =>
        JsonSerializer.Deserialize<JsonElement[]>(await ApiTestKit.PollAsync(client, $"/api/lighting/commands?device={lamp}", (status, text) =>
            status == HttpStatusCode.OK && until(JsonSerializer.Deserialize<JsonElement[]>(text)!)))!;

    private static bool Names(GatewayRequest r, string path, string id) =>
        r.Method == "POST" && r.Path == path && r.Body is { } body && body.GetRawText().Contains($"\"{id}\"", StringComparison.Ordinal);

    private static bool Assigns(GatewayRequest r, Guid lamp, string calendar) =>
        r.Method == "POST" && r.Path == "/assign-commands" && r.Body is { } body
        && body.GetProperty("entity").GetProperty("address").GetString() == calendar
        && body.GetProperty("addresses").EnumerateArray().Any(a => a.GetProperty("address").GetString() == lamp.ToString());

    [Fact]
    public async Task Sync_TalqLamps_AreAssignedTheirSchedulesCalendar_AfterItsProgramsAndCalendar_AlsoWhenAnnouncedLater()
    {
        await using var recorder = await GatewayRecorder.StartAsync(prism.Mock.BaseUrl);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var gateway = new TalqGatewayStandIn(TestServers.UniqueName("gw-"), TestServers.UniqueName("dt"), "quay");
        await using var worker = await StartAsync(db, gateway, recorder);
        var district = $"night-{gateway.District}";
        var quay = $"quay-{gateway.District}";

        // At start, before any lamp: the logger configuration and the district's calendar.
        await recorder.WaitForAsync(r => r.Any(x => Names(x, "/calendars", district)), Timeout);
        using var talq = gateway.Client(worker.BaseAddress);
        var first = Guid.NewGuid();
        var photocell = Guid.NewGuid();
        await AnnounceAsync(talq, gateway, Photocell(photocell));
        await AnnounceAsync(talq, gateway, first);
        await recorder.WaitForAsync(r => r.Any(x => Assigns(x, first, quay)), Timeout);

        var later = Guid.NewGuid();
        await AnnounceAsync(talq, gateway, later);
        await recorder.WaitForAsync(r => r.Any(x => Assigns(x, later, quay)), Timeout);

        var sent = recorder.Requests;
        Assert.All(sent, r => Assert.True(r.Accepted, $"the validating mock refused {r}: {r.Reply}"));
        // What a gateway needs first comes first: the programs the calendar names, the calendar, then the assignment.
        var programs = sent.ToList().FindIndex(r => Names(r, "/control-programs", quay));
        var calendar = sent.ToList().FindIndex(r => Names(r, "/calendars", quay));
        var assigned = sent.ToList().FindIndex(r => Assigns(r, first, quay));
        Assert.True(programs >= 0 && programs < calendar && calendar < assigned, string.Join("\n", sent));
        // Each lamp once: the lamp announced later does not make the first one assigned again, nor the calendar sent again.
        Assert.Single(sent, r => r.Path == "/assign-commands" && r.Body!.Value.GetRawText().Contains(first.ToString(), StringComparison.Ordinal));
        Assert.Single(sent, r => Names(r, "/calendars", quay));
        // A calendar is for lamps: the gateway's photocell is given none (nor has one taken away).
        Assert.DoesNotContain(sent, r => r.Path == "/assign-commands" && r.Body!.Value.GetRawText().Contains(photocell.ToString(), StringComparison.Ordinal));
        // The mock does not follow every schema detail: the data model checks the AssignCommand itself.
        Assert.All(sent.Where(r => r.Path == "/assign-commands"), r => Assert.Empty(TalqContract.CheckModel("AssignCommand", r.Body!.Value.GetRawText())));
        Assert.DoesNotContain(worker.Logs.Entries, e => e.Level >= Microsoft.Extensions.Logging.LogLevel.Warning && e.Category.Contains("Talq", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Schedule_TalqLampGetsNoScheduledOverride_MqttLampOfTheSameScheduleGetsTheSteps_OperatorCommandStillReachesIt()
    {
        var clock = new FakeTimeProvider(Evening);
        await using var recorder = await GatewayRecorder.StartAsync(prism.Mock.BaseUrl);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var gateway = new TalqGatewayStandIn(TestServers.UniqueName("gw-"), TestServers.UniqueName("dt"), "quay");
        await using var worker = await StartAsync(db, gateway, recorder, clock);
        using var talq = gateway.Client(worker.BaseAddress);
        var talqLamp = Guid.NewGuid();
        await AnnounceAsync(talq, gateway, talqLamp);
        await using var lamps = new TestLamps(worker.TopicRoot, gateway.District, clock);
        await lamps.ConnectAsync();
        await lamps.AddAsync("quay", "mqtt-lamp", LampBehaviour.Ack);
        await LightingControlTests.KnownAsync(worker, talqLamp.ToString(), "mqtt-lamp");
        await LightingControlTests.ResendQueuedAsync(worker.Services.GetRequiredService<LightingService>(), "mqtt-lamp", () => lamps.Received("mqtt-lamp").Count >= 1);

        // Born after the evening's switch-on: the next tick gives the MQTT lamp the level in force and decides the TALQ lamp's.
        clock.Advance(TimeSpan.FromSeconds(1));
        await lamps.WaitAsync(() => lamps.Received("mqtt-lamp").Count >= 1, Timeout);
        await worker.Logs.WaitForAsync(l => l.Any(e => e.EventId == 9001 && e.Message.Contains($"Lamp {talqLamp}: sent to 0 lamps, 0 skipped", StringComparison.Ordinal)), Timeout);

        // 23:00:30 local: the site's step; the MQTT lamp gets it, the TALQ lamp is skipped (its gateway's calendar has the step).
        clock.Advance(TimeSpan.FromMinutes(10.5));
        await lamps.WaitAsync(() => lamps.Received("mqtt-lamp").Count >= 2, Timeout);
        Assert.Equal(50, lamps.Received("mqtt-lamp")[1].GetProperty("dim_pct").GetDouble());
        await worker.Logs.WaitForAsync(l => l.Any(e => e.EventId == 9001 && e.Message.Contains("Site quay: sent to 1 lamps, 0 skipped", StringComparison.Ordinal)), Timeout);
        Assert.DoesNotContain(recorder.Requests, r => r.Path == "/override-commands");
        using var @operator = worker.CreateClient(TestApiKeys.Operator);
        // Not sent, but expected: the step waits for the TALQ lamp's report like any command (CalendarStep_... below).
        var kept = await HistoryAsync(@operator, talqLamp, h => h.Any(c => c.GetProperty("dimPct").GetDouble() == 50));
        Assert.Equal("pending", kept[0].GetProperty("status").GetString());
        Assert.StartsWith("not sent", kept[0].GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var sent = await @operator.PostAsJsonAsync(new Uri("/api/lighting/commands", UriKind.Relative), new { targetKind = "lamp", target = talqLamp.ToString(), dimPct = 20, reason = "quay works" });
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        await recorder.WaitForAsync(r => r.Any(x => x.Path == "/override-commands"), Timeout);
        var @override = Assert.Single(recorder.Requests, r => r.Path == "/override-commands");
        Assert.True(@override.Accepted, $"{@override}: {@override.Reply}");
        var body = @override.Body!.Value;
        Assert.Equal(talqLamp.ToString(), body.GetProperty("addresses")[0].GetProperty("address").GetString());
        var target = body.GetProperty("targetCommand");
        Assert.Equal(20, target.GetProperty("state").GetProperty("value").GetInt32());
        // Until the schedule's next step (05:00 local, 04:00 UTC), as an MQTT lamp's command lasts: then the gateway's calendar again.
        Assert.Equal("2026-12-08T04:00:00Z", target.GetProperty("expiration").GetString());
    }

    [Fact]
    public async Task CalendarStep_TalqLampReportsAnotherLevel_RaisesOneCommandNotFollowed_ALampThatFollowsIsConfirmed()
    {
        var clock = new FakeTimeProvider(Evening);
        await using var recorder = await GatewayRecorder.StartAsync(prism.Mock.BaseUrl);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var gateway = new TalqGatewayStandIn(TestServers.UniqueName("gw-"), TestServers.UniqueName("dt"), "quay");
        await using var worker = await StartAsync(db, gateway, recorder, clock, confirmTimeout: "00:01:00");
        using var talq = gateway.Client(worker.BaseAddress);
        var (follows, stuck) = (Guid.NewGuid(), Guid.NewGuid());
        await AnnounceAsync(talq, gateway, follows);
        await AnnounceAsync(talq, gateway, stuck);
        await LightingControlTests.KnownAsync(worker, follows.ToString(), stuck.ToString());
        using var viewer = worker.CreateClient(TestApiKeys.Viewer);

        // Born at night: both are expected at the level in force (100 %), and both report it.
        clock.Advance(TimeSpan.FromSeconds(1));
        foreach (var lamp in new[] { follows, stuck })
        {
            await HistoryAsync(viewer, lamp, h => h.Any(c => c.GetProperty("status").GetString() == "pending"));
            await ReportAsync(talq, gateway, lamp, 100, clock.GetUtcNow());
            await HistoryAsync(viewer, lamp, h => h.All(c => c.GetProperty("status").GetString() == "confirmed"));
        }

        // 23:00:30 local: the calendar's step to 50 %. One lamp's next report shows it, the other's still 100 %.
        clock.Advance(TimeSpan.FromMinutes(10.5));
        foreach (var lamp in new[] { follows, stuck })
        {
            await HistoryAsync(viewer, lamp, h => h.Any(c => c.GetProperty("dimPct").GetDouble() == 50 && c.GetProperty("status").GetString() == "pending"));
        }

        await ReportAsync(talq, gateway, follows, 50, clock.GetUtcNow());
        await ReportAsync(talq, gateway, stuck, 100, clock.GetUtcNow());
        await HistoryAsync(viewer, follows, h => h[0].GetProperty("status").GetString() == "confirmed");

        // Past Lighting:ConfirmTimeout plus the gateway's report period (5 min): the lamp that did not follow raises one alert.
        clock.Advance(TimeSpan.FromMinutes(6.5));
        var history = await HistoryAsync(viewer, stuck, h => h[0].GetProperty("status").GetString() == "timed_out");
        Assert.Equal(50, history[0].GetProperty("dimPct").GetDouble());
        var body = await ApiTestKit.PollAsync(viewer, "/api/alerts?state=open", (status, text) =>
            status == HttpStatusCode.OK && JsonSerializer.Deserialize<JsonElement[]>(text)!.Any(a => a.GetProperty("rule").GetString() == "command_not_followed"));
        var alert = Assert.Single(JsonSerializer.Deserialize<JsonElement[]>(body)!, a => a.GetProperty("rule").GetString() == "command_not_followed");
        Assert.Equal(stuck.ToString(), alert.GetProperty("deviceId").GetString());
        Assert.Equal("confirmed", (await HistoryAsync(viewer, follows, _ => true))[0].GetProperty("status").GetString());
        Assert.DoesNotContain(recorder.Requests, r => r.Path == "/override-commands");
    }
}

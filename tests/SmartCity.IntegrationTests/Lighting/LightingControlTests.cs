using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.IntegrationTests.Lighting;

/// <summary>
/// Issue 19 on the real broker and worker: commands reach the lamps of a site and are confirmed,
/// a lamp that ignores them raises one alert, only operators command, unknown lamps are refused,
/// a schedule dims a district at its time on the fake clock, and a restart re-sends nothing
/// confirmed and misses nothing due. Lamps are <see cref="TestLamps"/>.
/// </summary>
public sealed class LightingControlTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);
    private static readonly int[] Levels2 = [30, 20];
    private static readonly string[] SquareLamps = ["lamp-a", "lamp-b", "lamp-c"];

    // 22:50 in Utrecht on a winter evening: the lamps are on (sunset ~16:30), the 23:00 step is ten minutes away.
    private static readonly DateTimeOffset Evening = new(2026, 12, 7, 21, 50, 0, TimeSpan.Zero);

    // The state file is in the worker's data directory (TestWorker.Settings), so a restart with the same client id finds it.
    internal static Dictionary<string, string?> Settings(string? confirmTimeout = null, string? schedules = null) => new()
    {
        ["Lighting:ConfirmTimeout"] = confirmTimeout ?? "00:01:00",
        ["Lighting:TickInterval"] = "00:00:00.200",
        ["Lighting:SchedulesFile"] = schedules,
    };

    private static async Task<JsonElement[]> HistoryAsync(HttpClient client, string query, Func<JsonElement[], bool> until)
    {
        var body = await ApiTestKit.PollAsync(client, "/api/lighting/commands?" + query, (status, text) =>
            status == HttpStatusCode.OK && until(JsonSerializer.Deserialize<JsonElement[]>(text)!));
        return JsonSerializer.Deserialize<JsonElement[]>(body)!;
    }

    private static async Task<string> CommandAsync(HttpClient client, object body) =>
        (await ReceiptAsync(client, body)).GetProperty("commandId").GetString()!;

    private static async Task<JsonElement> ReceiptAsync(HttpClient client, object body)
    {
        using var response = await client.PostAsJsonAsync(new Uri("/api/lighting/commands", UriKind.Relative), body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>
    /// Until lighting has queued <paramref name="lamp"/>'s re-send after its birth, or <paramref name="sent"/> (a tick
    /// already took it). On a fake clock, the registry has a lamp before lighting has seen its birth: a tick run in between
    /// sends the lamp nothing, and no other tick comes until the test moves the clock (failed once in a clean-clone run).
    /// </summary>
    internal static async Task ResendQueuedAsync(LightingService lighting, string lamp, Func<bool> sent)
    {
        using var cts = new CancellationTokenSource(Timeout);
        while (!lighting.ResendQueued(lamp) && !sent())
        {
            // Polled: nothing signals it, and lighting's clock is the test's own (it does not move here).
            await Task.Delay(TimeSpan.FromMilliseconds(20), cts.Token);
        }
    }

    internal static async Task KnownAsync(TestWorker worker, params string[] lamps)
    {
        var registry = worker.Services.GetRequiredService<DeviceRegistry>();
        using var cts = new CancellationTokenSource(Timeout);
        while (true)
        {
            // Listen before looking (a birth admitted between the look and the listen was a lost wake-up: timed
            // out once in a clean-clone run), and look again every second: the progress a birth makes can come
            // before the registry has it, and nothing else moves on this test's fake clock.
            var next = worker.Metrics.NextProgressAsync(System.Threading.Timeout.InfiniteTimeSpan);
            if (lamps.All(id => registry.Find(id) is { Online: true }))
            {
                return;
            }

            try
            {
                await next.WaitAsync(TimeSpan.FromSeconds(1), cts.Token);
            }
            catch (TimeoutException)
            {
                // Look again; the deadline is cts's.
            }
        }
    }

    [Fact]
    public async Task Command_ToSite_ReachesEveryLampOfItAndEachIsConfirmed()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        await using var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: Settings());
        await using var lamps = new TestLamps(worker.TopicRoot, "d19", TimeProvider.System);
        await lamps.ConnectAsync();
        await lamps.AddAsync("square", "lamp-a", LampBehaviour.Ack);
        await lamps.AddAsync("square", "lamp-b", LampBehaviour.TelemetryOnly);
        await lamps.AddAsync("square", "lamp-c", LampBehaviour.Ack);
        await lamps.AddAsync("harbour", "lamp-x", LampBehaviour.Ack);
        // Switch-only (its profile lists no dim) and a cabinet (no commands at all): never sent a dim command.
        await lamps.AddOtherAsync("square", "streetlight_lpwan", "lamp-lora");
        await lamps.AddOtherAsync("square", "lighting_cabinet", "cab-1");
        await KnownAsync(worker, "lamp-a", "lamp-b", "lamp-c", "lamp-x", "lamp-lora", "cab-1");
        using var client = worker.CreateClient(TestApiKeys.Operator);

        var receipt = await ReceiptAsync(client, new { targetKind = "site", target = "square", dimPct = 40, reason = "market night" });
        var id = receipt.GetProperty("commandId").GetString()!;
        var skipped = receipt.GetProperty("skipped").EnumerateArray().ToDictionary(s => s.GetProperty("deviceId").GetString()!, s => s.GetProperty("reason").GetString()!);
        Assert.Equal(["cab-1", "lamp-lora"], skipped.Keys.Order());
        Assert.Contains("profile 'streetlight_lpwan' does not support 'dim'", skipped["lamp-lora"], StringComparison.Ordinal);
        Assert.Equal(3, receipt.GetProperty("sent").GetArrayLength());

        var history = await HistoryAsync(client, "commandId=" + id, h => h.Length == 3 && h.All(c => c.GetProperty("status").GetString() == "confirmed"));
        Assert.Equal(SquareLamps, history.Select(c => c.GetProperty("deviceId").GetString()).Order());
        Assert.All(history, c => Assert.Equal("anna.operator", c.GetProperty("by").GetString()));
        Assert.Equal("telemetry", history.Single(c => c.GetProperty("deviceId").GetString() == "lamp-b").GetProperty("detail").GetString());
        Assert.Equal("ack", history.Single(c => c.GetProperty("deviceId").GetString() == "lamp-a").GetProperty("detail").GetString());
        Assert.All(SquareLamps, l => Assert.Equal(40, Assert.Single(lamps.Received(l)).GetProperty("dim_pct").GetDouble()));
        Assert.Empty(lamps.Received("lamp-x"));

        // Kept in InfluxDB too: one row per lamp with its outcome.
        var stored = await StoredQuery.WaitForAsync(worker.Metrics,
            () => db.CountAsync($"SELECT count(\"dim_pct\") FROM \"lighting_command\" WHERE \"command_id\" = '{id}' AND \"status\" = 'confirmed'"),
            n => n == 3, Timeout);
        Assert.Equal(3, stored);
    }

    [Fact]
    public async Task Command_LampIgnoresIt_RaisesExactlyOneAlert()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        await using var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: Settings(confirmTimeout: "00:00:02"));
        await using var lamps = new TestLamps(worker.TopicRoot, "d19", TimeProvider.System);
        await lamps.ConnectAsync();
        await lamps.AddAsync("lane", "lamp-ok", LampBehaviour.Ack);
        await lamps.AddAsync("lane", "lamp-deaf", LampBehaviour.Ignore);
        await KnownAsync(worker, "lamp-ok", "lamp-deaf");
        using var client = worker.CreateClient(TestApiKeys.Operator);

        // Twice: the second timeout of the same lamp recurs on the open alert instead of raising another.
        foreach (var level in Levels2)
        {
            var id = await CommandAsync(client, new { targetKind = "site", target = "lane", dimPct = level, reason = "test" });
            await HistoryAsync(client, "commandId=" + id, h => h.Length == 2 && h.All(c => c.GetProperty("status").GetString() != "pending"));
        }

        var body = await ApiTestKit.PollAsync(client, "/api/alerts?state=open", (s, text) =>
            s == HttpStatusCode.OK && JsonSerializer.Deserialize<JsonElement[]>(text)!.Any(a => a.GetProperty("rule").GetString() == "command_not_followed" && a.GetProperty("occurrences").GetInt32() == 2));
        var alerts = JsonSerializer.Deserialize<JsonElement[]>(body)!.Where(a => a.GetProperty("rule").GetString() == "command_not_followed").ToList();
        var alert = Assert.Single(alerts);
        Assert.Equal("lamp-deaf", alert.GetProperty("deviceId").GetString());
        var history = await HistoryAsync(client, "device=lamp-deaf", h => h.Length == 2);
        Assert.All(history, c => Assert.Equal("timed_out", c.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task Command_WithoutOperatorKey_RefusedAndNothingSent()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        await using var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: Settings());
        await using var lamps = new TestLamps(worker.TopicRoot, "d19", TimeProvider.System);
        await lamps.ConnectAsync();
        await lamps.AddAsync("lane", "lamp-1", LampBehaviour.Ack);
        await KnownAsync(worker, "lamp-1");
        var body = new { targetKind = "lamp", target = "lamp-1", on = false, reason = "prank" };

        using (var viewer = worker.CreateClient(TestApiKeys.Viewer))
        using (var response = await viewer.PostAsJsonAsync(new Uri("/api/lighting/commands", UriKind.Relative), body))
        {
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        foreach (var key in new TestApiKeys.TestKey?[] { null, new("mallory", "operator", "not-a-configured-key") })
        {
            using var anonymous = worker.CreateClient(key);
            using var response = await anonymous.PostAsJsonAsync(new Uri("/api/lighting/commands", UriKind.Relative), body);
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }

        // An operator's command afterwards is the first and only one the lamp ever received: the refused ones sent nothing.
        using var op = worker.CreateClient(TestApiKeys.Operator);
        await CommandAsync(op, new { targetKind = "lamp", target = "lamp-1", dimPct = 60, reason = "marker" });
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 1, Timeout);
        Assert.Equal(60, Assert.Single(lamps.Received("lamp-1")).GetProperty("dim_pct").GetDouble());
    }

    [Fact]
    public async Task Command_ToUnknownLamp_RefusedWithReason()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        await using var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: Settings());
        using var client = worker.CreateClient(TestApiKeys.Operator);

        using var response = await client.PostAsJsonAsync(new Uri("/api/lighting/commands", UriKind.Relative), new { targetKind = "lamp", target = "lamp-nowhere", on = true, reason = "test" });

        var problem = await ApiTestKit.ProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Equal("unknown lamp", problem.GetProperty("title").GetString());
        Assert.Contains("'lamp-nowhere'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_InvalidSchedulesFile_ConfigurationErrorNamesTheScheduleAndProblem()
    {
        var path = Path.Combine(Path.GetTempPath(), "smartcity-it-data", TestServers.UniqueName("sched-") + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, """{ "schedules": [ { "id": "bad", "district": "d01", "onLevel": 140 } ] }""");
        await using var db = InfluxTestDatabase.NotCreated();
        var settings = TestWorker.Settings(db, "t/city", TestServers.UniqueName("worker-"));
        settings["Lighting:SchedulesFile"] = path;
        using var logs = new LogCapture();
        await using var app = ApiTestKit.Build(settings, logs);

        var failures = SmartCity.Telemetry.Diagnostics.ConfigurationCheck.ValidateAll(app.Services);

        Assert.Contains("Lighting:SchedulesFile: schedule 'bad': onLevel must be 0..100 %, was 140", failures);
    }

    internal static string ScheduleFile(string district)
    {
        var path = Path.Combine(Path.GetTempPath(), "smartcity-it-data", TestServers.UniqueName("sched-") + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, $$"""
            { "schedules": [ { "id": "night-{{district}}", "district": "{{district}}", "onLevel": 100,
              "steps": [ { "at": "23:00", "dimPct": 50 }, { "at": "05:00", "dimPct": 100 } ] } ] }
            """);
        return path;
    }

    private static double[] Levels(TestLamps lamps, string id) => [.. lamps.Received(id).Select(c => c.GetProperty("dim_pct").GetDouble())];

    [Fact]
    public async Task Schedule_DistrictDimsAtItsTime_OnTheFakeClock()
    {
        var clock = new FakeTimeProvider(Evening);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var district = TestServers.UniqueName("dz");
        await using var worker = await TestWorker.StartAsync(db, clientId: clientId, overrides: Settings(schedules: ScheduleFile(district)), time: clock);
        await using var lamps = new TestLamps(worker.TopicRoot, district, clock);
        await lamps.ConnectAsync();
        await lamps.AddAsync("s1", "lamp-1", LampBehaviour.Ack);
        await lamps.AddAsync("s2", "lamp-2", LampBehaviour.TelemetryOnly);
        await KnownAsync(worker, "lamp-1", "lamp-2");

        // Born after the evening's switch-on: the next tick sends them the level in force (100 %).
        clock.Advance(TimeSpan.FromSeconds(1));
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 1 && lamps.Received("lamp-2").Count >= 1, Timeout);
        Assert.Equal([100d], Levels(lamps, "lamp-1"));

        // 23:00:30 local: the step is due.
        clock.Advance(TimeSpan.FromMinutes(10.5));
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 2 && lamps.Received("lamp-2").Count >= 2, Timeout);
        Assert.Equal([100d, 50d], Levels(lamps, "lamp-1"));
        Assert.Equal([100d, 50d], Levels(lamps, "lamp-2"));
        using var client = worker.CreateClient(TestApiKeys.Viewer);
        var history = await HistoryAsync(client, "status=confirmed", h => h.Count(c => c.GetProperty("dimPct").GetDouble() == 50) == 2);
        Assert.All(history.Where(c => c.GetProperty("dimPct").GetDouble() == 50), c => Assert.Equal($"schedule:night-{district}", c.GetProperty("by").GetString()));
    }

    [Fact]
    public async Task Schedule_SiteWithItsOwnSchedule_FollowsItAndNotItsDistricts()
    {
        var clock = new FakeTimeProvider(Evening);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dz");
        var path = Path.Combine(Path.GetTempPath(), "smartcity-it-data", TestServers.UniqueName("sched-") + ".json");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, $$"""
            { "schedules": [
              { "id": "night-{{district}}", "district": "{{district}}", "onLevel": 100,
                "steps": [ { "at": "23:00", "dimPct": 50 }, { "at": "05:00", "dimPct": 100 } ] },
              { "id": "square-{{district}}", "district": "{{district}}", "site": "square", "onLevel": 80,
                "steps": [ { "at": "23:00", "dimPct": 30 }, { "at": "05:00", "dimPct": 80 } ] } ] }
            """);
        await using var worker = await TestWorker.StartAsync(db, clientId: TestServers.UniqueName("worker-"), overrides: Settings(schedules: path), time: clock);
        await using var lamps = new TestLamps(worker.TopicRoot, district, clock);
        await lamps.ConnectAsync();
        await lamps.AddAsync("street", "lamp-street", LampBehaviour.Ack);
        await lamps.AddAsync("square", "lamp-square", LampBehaviour.Ack);
        await KnownAsync(worker, "lamp-street", "lamp-square");

        clock.Advance(TimeSpan.FromSeconds(1));
        await lamps.WaitAsync(() => lamps.Received("lamp-street").Count >= 1 && lamps.Received("lamp-square").Count >= 1, Timeout);
        clock.Advance(TimeSpan.FromMinutes(10.5));
        await lamps.WaitAsync(() => lamps.Received("lamp-street").Count >= 2 && lamps.Received("lamp-square").Count >= 2, Timeout);

        // A marker last: a district step wrongly sent to the square's lamp would have reached it before this.
        using var op = worker.CreateClient(TestApiKeys.Operator);
        await CommandAsync(op, new { targetKind = "district", target = district, dimPct = 70, reason = "marker" });
        await lamps.WaitAsync(() => lamps.Received("lamp-street").Count >= 3 && lamps.Received("lamp-square").Count >= 3, Timeout);
        Assert.Equal([100d, 50d, 70d], Levels(lamps, "lamp-street"));
        Assert.Equal([80d, 30d, 70d], Levels(lamps, "lamp-square"));
    }

    [Fact]
    public async Task Restart_InTheMiddle_ResendsNothingConfirmedAndMissesNothingDue()
    {
        var clock = new FakeTimeProvider(Evening);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var district = TestServers.UniqueName("dz");
        var settings = Settings(schedules: ScheduleFile(district));
        var topicRoot = TestServers.UniqueName("t") + "/city";
        var first = await TestWorker.StartAsync(db, topicRoot, clientId, settings, clock);
        await using var lamps = new TestLamps(topicRoot, district, clock);
        await lamps.ConnectAsync();
        await lamps.AddAsync("s1", "lamp-1", LampBehaviour.Ack);
        await lamps.AddAsync("s1", "lamp-2", LampBehaviour.Ack);
        // Its command is still pending when the worker stops: due after the restart, it times out then.
        await lamps.AddAsync("s1", "lamp-deaf", LampBehaviour.Ignore);
        await KnownAsync(first, "lamp-1", "lamp-2", "lamp-deaf");
        clock.Advance(TimeSpan.FromSeconds(1));
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 1 && lamps.Received("lamp-2").Count >= 1 && lamps.Received("lamp-deaf").Count >= 1, Timeout);
        using (var client = first.CreateClient(TestApiKeys.Viewer))
        {
            await HistoryAsync(client, "status=confirmed", h => h.Length == 2);
        }

        await first.DisposeAsync();

        // Down across the 23:00 step; back at 23:05 local.
        clock.Advance(TimeSpan.FromMinutes(15));
        await using var second = await TestWorker.StartAsync(db, topicRoot, clientId, settings, clock);
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 2 && lamps.Received("lamp-2").Count >= 2, Timeout);

        // A marker command last: anything re-sent after the restart would have reached the lamps before it.
        using var op = second.CreateClient(TestApiKeys.Operator);
        await CommandAsync(op, new { targetKind = "district", target = district, dimPct = 70, reason = "marker" });
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 3 && lamps.Received("lamp-2").Count >= 3, Timeout);
        Assert.Equal([100d, 50d, 70d], Levels(lamps, "lamp-1"));
        Assert.Equal([100d, 50d, 70d], Levels(lamps, "lamp-2"));
        Assert.Equal([100d, 50d, 70d], Levels(lamps, "lamp-deaf"));
        using var viewer = second.CreateClient(TestApiKeys.Viewer);
        var deaf = await HistoryAsync(viewer, "device=lamp-deaf", h => h.Length == 3 && h.Any(c => c.GetProperty("status").GetString() == "timed_out"));
        Assert.Equal(100, deaf.Single(c => c.GetProperty("status").GetString() == "timed_out").GetProperty("dimPct").GetDouble());
    }
}

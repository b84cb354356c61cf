using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Partitioning;

/// <summary>
/// Issue 21: three worker processes over three partitions of a region of two cities, on the real
/// broker and InfluxDB. One worker is SIGKILLed mid-stream and started again with the same identity
/// and data folder; its session kept what arrived meanwhile.
/// </summary>
[Collection(ServerFaultsGroup.Name)] // three workers and two streams: not beside the parallel tests on 2 cores
public sealed class PartitionedRegionTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);
    private readonly string _data = Path.Combine(Path.GetTempPath(), "smartcity-it-data", TestServers.UniqueName("region-"));

    [Fact]
    public async Task ThreeWorkersOverTwoCities_OneKilledAndRestarted_NothingLostAlertsOnceByTheirOwner()
    {
        Directory.CreateDirectory(_data);
        await using var dbA = await InfluxTestDatabase.CreateAsync();
        await using var dbB = await InfluxTestDatabase.CreateAsync();
        var region = new Region(_data);
        region.WriteMap(dbA.Name, dbB.Name);
        var workers = new Dictionary<string, WorkerProcess>();
        try
        {
            foreach (var id in new[] { region.WorkerA, region.WorkerB1, region.WorkerB2 })
            {
                workers[id] = await WorkerProcess.StartAsync(region.Settings(dbA, id));
            }

            const long MessagesA = 2_000, MessagesB = 4_000;
            await using var streamA = new SteadyFleet(SteadyFleet.Fleet(region.RootA, Region.LampsA, MessagesA, 100), MessagesA, 100, TestServers.UniqueName("sim-"));
            await using var streamB = new SteadyFleet(SteadyFleet.Fleet(region.RootB, Region.LampsB, MessagesB, 200), MessagesB, 200, TestServers.UniqueName("sim-"));
            streamA.Start();
            streamB.Start();
            await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("faults-"), CancellationToken.None);

            // Before the kill: one failed lamp per district of B (and one in A), each alert on its owner.
            await streamB.WhenPublishedAsync(400, Long);
            var before = new List<StreetLight>();
            before.AddRange(await Region.PublishFaultsAsync(publisher, region.RootA, Region.LampsA, [0]));
            before.AddRange(await Region.PublishFaultsAsync(publisher, region.RootB, Region.LampsB, [0, 1, 2, 3]));
            await WaitForAlertsAsync(workers[region.WorkerB1], ["lamp-000201", "lamp-000202"]);
            // Neither its alert state file nor its registry file: alert transitions and registrations are journaled and
            // durable before the readings and births that caused them are acknowledged, so the kill may fall anywhere in
            // Alerting:StateSaveDelay and Registry:SaveInterval (AlertStateCrashTests and RegistryCrashTests show it).

            var publishedAtKill = streamB.Published;
            await workers[region.WorkerB1].KillAsync();
            await workers[region.WorkerB1].DisposeAsync();

            // While it is dead: the stream goes on, and two more of its districts' lamps fail.
            await streamA.CompletionAsync(Long);
            await streamB.CompletionAsync(Long);
            var during = await Region.PublishFaultsAsync(publisher, region.RootB, Region.LampsB, [4, 5]);
            workers[region.WorkerB1] = await WorkerProcess.StartAsync(region.Settings(dbA, region.WorkerB1));

            var storedA = await WaitForCountAsync(workers[region.WorkerA], dbA, MessagesA + 1);
            var storedB = await WaitForCountAsync(workers[region.WorkerB1], dbB, MessagesB + 6);
            output.WriteLine($"FIGURES {nameof(ThreeWorkersOverTwoCities_OneKilledAndRestarted_NothingLostAlertsOnceByTheirOwner)}: " +
                             $"published A={streamA.Published}+1 B={streamB.Published}+6 stored A={storedA} B={storedB} published_B_at_kill={publishedAtKill}");
            if (storedA != MessagesA + 1 || storedB != MessagesB + 6)
            {
                // What each worker said (warnings and errors), so a shortfall names its cause in CI's log.
                foreach (var (id, worker) in workers)
                {
                    output.WriteLine($"----- worker {id} -----{Environment.NewLine}{worker.Output}");
                }
            }

            Assert.Equal(MessagesA, streamA.Published);
            Assert.Equal(MessagesB, streamB.Published);
            Assert.Equal(MessagesA + 1, storedA);
            Assert.Equal(MessagesB + 6, storedB);

            // Every lamp_failure exactly once, on the worker owning its district, and nowhere else.
            var expected = new Dictionary<string, string[]>
            {
                [region.WorkerA] = ["lamp-000101"],
                [region.WorkerB1] = ["lamp-000201", "lamp-000202", "lamp-000205", "lamp-000206"],
                [region.WorkerB2] = ["lamp-000203", "lamp-000204"],
            };
            Assert.Equal(7, before.Count + during.Count);
            foreach (var (id, lamps) in expected)
            {
                var alerts = await WaitForAlertsAsync(workers[id], lamps);
                var failures = alerts.Where(a => a.GetProperty("rule").GetString() == "lamp_failure").Select(a => a.GetProperty("deviceId").GetString()).Order().ToList();
                Assert.Equal(lamps, failures);
                Assert.All(alerts, a => Assert.Contains(a.GetProperty("district").GetString(), region.Districts[id]));
            }

            await AssertCityScopedKeysAsync(region, workers, expected);
        }
        finally
        {
            foreach (var worker in workers.Values)
            {
                await worker.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task OverlappingPartitionMap_RefusedAtStartNamingThePartitions()
    {
        Directory.CreateDirectory(_data);
        await using var db = InfluxTestDatabase.NotCreated();
        var region = new Region(_data);
        // b-south also takes everything of the lighting sector, d01 and d02 included.
        region.WriteMap("a", "b", [region.RootB + "/lighting/#"]);
        await using var worker = WorkerProcess.Launch(region.Settings(db, region.WorkerB2));
        Assert.Equal(78, await worker.WaitForExitAsync(TimeSpan.FromSeconds(90)));
        Assert.Contains("partitions 'b-north' and 'b-south' overlap", worker.Output, StringComparison.Ordinal);
    }

    private static async Task AssertCityScopedKeysAsync(Region region, Dictionary<string, WorkerProcess> workers, Dictionary<string, string[]> expected)
    {
        var b1 = workers[region.WorkerB1].BaseAddress;
        using var viewer = TestApiKeys.Client(b1, TestApiKeys.Viewer);
        var bAlerts = await viewer.GetFromJsonAsync<JsonElement[]>("/api/alerts");
        var bAlertId = bAlerts!.First().GetProperty("id").GetString();

        using var keyA = TestApiKeys.Client(b1, Region.KeyA);
        Assert.Equal(HttpStatusCode.NotFound, (await keyA.GetAsync($"/api/alerts/{bAlertId}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await keyA.PostAsJsonAsync($"/api/alerts/{bAlertId}/acknowledge", new { comment = "not mine" })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await keyA.GetAsync("/api/devices/lamp-000001")).StatusCode);
        Assert.Empty((await keyA.GetFromJsonAsync<JsonElement[]>("/api/alerts"))!);
        Assert.Empty((await keyA.GetFromJsonAsync<JsonElement[]>("/api/devices"))!);

        // The same key on its own city's worker sees it: the emptiness above is the scope, not an empty worker.
        using var keyAHome = TestApiKeys.Client(workers[region.WorkerA].BaseAddress, Region.KeyA);
        Assert.Equal(expected[region.WorkerA], (await keyAHome.GetFromJsonAsync<JsonElement[]>("/api/alerts"))!.Select(a => a.GetProperty("deviceId").GetString()));
        Assert.Equal(Region.LampsA + 1, (await keyAHome.GetFromJsonAsync<JsonElement[]>("/api/devices"))!.Length);

        using var keyB = TestApiKeys.Client(b1, Region.KeyB);
        Assert.Equal(HttpStatusCode.OK, (await keyB.GetAsync($"/api/alerts/{bAlertId}")).StatusCode);
        // A district key of B sees d01 only.
        using var north = TestApiKeys.Client(b1, Region.KeyBNorth);
        var northDevices = (await north.GetFromJsonAsync<JsonElement[]>("/api/devices"))!;
        Assert.NotEmpty(northDevices);
        Assert.All(northDevices, d => Assert.Equal("d01", d.GetProperty("district").GetString()));
        Assert.Equal(["lamp-000201", "lamp-000205"], (await north.GetFromJsonAsync<JsonElement[]>("/api/alerts"))!.Select(a => a.GetProperty("deviceId").GetString()).Order());
    }

    /// <summary>The worker's alerts once every one of <paramref name="lamps"/> has a lamp_failure alert.</summary>
    private static async Task<JsonElement[]> WaitForAlertsAsync(WorkerProcess worker, string[] lamps)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var alerts = (await worker.GetAsync("/api/alerts")).EnumerateArray().Select(a => a.Clone()).ToArray();
            var failed = alerts.Where(a => a.GetProperty("rule").GetString() == "lamp_failure").Select(a => a.GetProperty("deviceId").GetString()).ToHashSet();
            if (lamps.All(failed.Contains) || clock.Elapsed > Long)
            {
                return alerts;
            }

            await worker.WaitForAsync(_ => true, Long); // one more round trip between polls
        }
    }

    /// <summary>The street-light readings stored in <paramref name="db"/>, once there are <paramref name="expected"/> (or after <see cref="Long"/>) while <paramref name="worker"/> runs.</summary>
    private static Task<long> WaitForCountAsync(WorkerProcess worker, InfluxTestDatabase db, long expected) =>
        worker.PollUntilAsync(() => db.CountAsync("SELECT count(power_w) FROM street_light"), stored => stored >= expected, Long);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

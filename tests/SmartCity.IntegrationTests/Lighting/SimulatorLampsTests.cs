using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;

namespace SmartCity.IntegrationTests.Lighting;

/// <summary>The simulator's lamps (smartcity-sim lighting --obey-commands) against the real worker: they follow, refuse or ignore as configured.</summary>
public sealed class SimulatorLampsTests
{
    [Fact]
    public async Task SimulatedFleet_CommandToDistrict_ObeyingConfirmedRefusingAndIgnoringRaiseAlerts()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Lighting:ConfirmTimeout"] = "00:00:03",
            ["Lighting:TickInterval"] = "00:00:00.200",
        });
        var commands = new LampCommandOptions { RefusePercent = 25, IgnorePercent = 25 };
        var options = new LightingSimulationOptions
        {
            Broker = TestWorker.Broker, Lamps = 8, Districts = 1, TopicRoot = worker.TopicRoot, Rate = 40,
            ClientId = TestServers.UniqueName("sim-"), Commands = commands,
        };
        var lamps = LightingSimulation.CreateFleet(options, DateTimeOffset.UtcNow).Lamps.Select(l => l.DeviceId).ToList();
        var expected = lamps.ToDictionary(l => l, commands.ResponseOf);
        Assert.Contains(LampResponse.Obey, expected.Values);
        Assert.Contains(expected.Values, r => r != LampResponse.Obey);

        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var run = LightingSimulation.RunAsync(options, cancellationToken: stop.Token);
        using var client = worker.CreateClient(TestApiKeys.Operator);
        await ApiTestKit.PollAsync(client, "/api/devices", (s, text) => s == HttpStatusCode.OK && lamps.All(l => text.Contains($"\"{l}\"", StringComparison.Ordinal)));

        using (var response = await client.PostAsJsonAsync(new Uri("/api/lighting/commands", UriKind.Relative), new { targetKind = "district", target = "d01", dimPct = 30, reason = "simulated night" }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var body = await ApiTestKit.PollAsync(client, "/api/lighting/commands?district=d01", (s, text) =>
            s == HttpStatusCode.OK && JsonSerializer.Deserialize<JsonElement[]>(text)!.Count(c => c.GetProperty("status").GetString() != "pending") == lamps.Count);
        var outcome = JsonSerializer.Deserialize<JsonElement[]>(body)!.ToDictionary(c => c.GetProperty("deviceId").GetString()!, c => c.GetProperty("status").GetString());
        var alerts = await ApiTestKit.PollAsync(client, "/api/alerts?state=open", (s, text) =>
            s == HttpStatusCode.OK && JsonSerializer.Deserialize<JsonElement[]>(text)!.Count(a => a.GetProperty("rule").GetString() == "command_not_followed") == expected.Values.Count(r => r != LampResponse.Obey));
        await stop.CancelAsync();
        await run;

        foreach (var (lamp, response) in expected)
        {
            Assert.Equal(response switch { LampResponse.Obey => "confirmed", LampResponse.Refuse => "refused", _ => "timed_out" }, outcome[lamp]);
        }

        var alerted = JsonSerializer.Deserialize<JsonElement[]>(alerts)!.Where(a => a.GetProperty("rule").GetString() == "command_not_followed").Select(a => a.GetProperty("deviceId").GetString()).Order();
        Assert.Equal(expected.Where(e => e.Value != LampResponse.Obey).Select(e => e.Key).Order(), alerted);
    }
}

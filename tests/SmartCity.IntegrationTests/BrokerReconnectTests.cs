using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;

namespace SmartCity.IntegrationTests;

[Collection(ServerFaultsGroup.Name)]
public sealed class BrokerReconnectTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Source_BrokerRestarted_ReconnectsToItsSessionAndStoresWhatFollows()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var start = DateTimeOffset.UtcNow.AddHours(-3).AddTicks(-(DateTimeOffset.UtcNow.Ticks % TimeSpan.TicksPerSecond));
        LightingSimulationOptions Batch(DateTimeOffset from) => new()
        {
            Broker = TestWorker.Broker,
            Lamps = 50,
            Messages = 1_000,
            Rate = 0,
            TopicRoot = worker.TopicRoot,
            ClientId = TestServers.UniqueName("sim-"),
            Start = from,
            Interval = TimeSpan.FromSeconds(10),
        };

        Assert.Equal(1_000, (await LightingSimulation.RunAsync(Batch(start))).Published);
        // Each run announces its 50 lamps (births are points too) before its 1,000 readings.
        await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= 1_050, Timeout);

        await ServerFaults.StopMosquittoAsync();
        try
        {
            await worker.Metrics.WaitUntilAsync(s => !s.SourceConnected, Timeout);
        }
        finally
        {
            await ServerFaults.StartMosquittoAsync();
        }

        var reconnected = await worker.Metrics.WaitUntilAsync(s => s.SourceConnected && s.Reconnects >= 1, Timeout);
        Assert.Equal(1, reconnected.Reconnects);
        // Broker persistence keeps the worker's session, so the worker does not need to resubscribe.
        Assert.Contains(worker.Logs.Entries, e => e.EventId == 1001 && e.Message.Contains("session present: True", StringComparison.Ordinal));

        Assert.Equal(1_000, (await LightingSimulation.RunAsync(Batch(start.AddHours(1)))).Published);
        await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= 2_100, Timeout);
        // Points written count a message the restarted broker delivered again: the stored count is waited for.
        Assert.Equal(2_000, await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync("SELECT count(power_w) FROM street_light"), n => n >= 2_000, Timeout));
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }
}

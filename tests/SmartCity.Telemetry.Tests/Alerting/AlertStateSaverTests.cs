using Microsoft.Extensions.Logging.Abstractions;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Engine;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The host's saves are debounced and written off the alert thread: a burst of transitions costs
/// one write, none waits longer than <see cref="AlertingOptions.StateSaveDelay"/>, a stop saves the
/// latest state, and a disk that refuses the write is a state (counted, in /healthz, retried).
/// </summary>
public sealed class AlertStateSaverTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Request_ManyTransitionsWithinTheDelay_OneSaveHoldingThemAll()
    {
        using var kit = new AlertTestKit();
        using var disk = new DiskHealth();
        var store = new AlertStore(kit.Options.StateFile);
        using var saver = new AlertStateSaver(kit.Engine, store, Delay, kit.Time, disk, NullLogger.Instance);

        for (var i = 0; i < 50; i++)
        {
            Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced", device: $"door-{i}"), "door_contact"));
            kit.Advance(TimeSpan.FromMilliseconds(10));   // all 50 within the delay
        }

        Assert.Equal(0, saver.Saves);   // nothing written on the alert thread
        Assert.False(File.Exists(kit.Options.StateFile));

        kit.Advance(Delay);
        await WaitUntilAsync(() => saver.Saves == 1);
        Assert.Equal(50, kit.Restart().OpenAlerts().Count);
        Assert.Equal(1, saver.Saves);
        await saver.StopAsync();
        Assert.Equal(1, saver.Saves);   // nothing changed since: the stop has nothing to write
    }

    [Fact]
    public async Task Request_SaveComesWithinTheDelayOfTheFirstChange_NotPushedBackByLaterOnes()
    {
        using var kit = new AlertTestKit();
        using var disk = new DiskHealth();
        using var saver = new AlertStateSaver(kit.Engine, new AlertStore(kit.Options.StateFile), Delay, kit.Time, disk, NullLogger.Instance);

        var first = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced", device: "door-a"), "door_contact")).Alert;
        kit.Advance(Delay - TimeSpan.FromMilliseconds(1));
        kit.Observe(DoorEvent(kit.Now, "forced", device: "door-b"), "door_contact");   // must not restart the clock
        Assert.Equal(0, saver.Saves);
        kit.Advance(TimeSpan.FromMilliseconds(1));   // exactly the delay after the first change

        await WaitUntilAsync(() => saver.Saves == 1);
        Assert.Contains(first.Id, File.ReadAllText(kit.Options.StateFile), StringComparison.Ordinal);
        await saver.StopAsync();
    }

    [Fact]
    public async Task StopAsync_ChangeStillWithinTheDelay_SavesTheLatestState()
    {
        using var kit = new AlertTestKit();
        using var disk = new DiskHealth();
        using var saver = new AlertStateSaver(kit.Engine, new AlertStore(kit.Options.StateFile), Delay, kit.Time, disk, NullLogger.Instance);
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact")).Alert;
        kit.Engine.Acknowledge(raised.Id, "ops:anna", "on it");

        Assert.True(await saver.StopAsync());   // no time passed: only the stop writes it

        Assert.Equal(1, saver.Saves);
        Assert.Equal("ops:anna", Assert.Single(kit.Restart().OpenAlerts()).AcknowledgedBy);
    }

    [Fact]
    public async Task Save_DiskRefusesTheWrite_CountedShownRetriedAndAlertingGoesOn()
    {
        using var kit = new AlertTestKit();
        using var disk = new DiskHealth();
        // The state file's folder is a plain file: every save fails with an IOException, as on a full or read-only disk (root ignores chmod).
        var blocked = Path.Combine(Path.GetDirectoryName(kit.Options.StateFile)!, "blocked");
        File.WriteAllText(blocked, "not a folder");
        var store = new AlertStore(Path.Combine(blocked, "alerts.json"));
        using var saver = new AlertStateSaver(kit.Engine, store, Delay, kit.Time, disk, NullLogger.Instance);

        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact")).Alert;
        kit.Advance(Delay);
        await WaitUntilAsync(() => saver.Failures == 1);
        Assert.True(disk.IsFailing(AlertStateSaver.DiskComponent));
        Assert.Contains(disk.Problems, p => p.Path == store.Path);

        // The engine goes on: a new alert is raised while the disk refuses, and retries keep failing in one episode.
        Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced", device: "door-2"), "door_contact"));
        kit.Advance(AlertStateSaver.RetryDelay);
        await WaitUntilAsync(() => saver.Failures >= 2);
        Assert.Equal(1, disk.Episodes);

        // Writable again: the next retry saves both alerts, and the state clears.
        File.Delete(blocked);
        kit.Advance(AlertStateSaver.RetryDelay);
        await WaitUntilAsync(() => saver.Saves == 1);
        Assert.False(disk.IsFailing(AlertStateSaver.DiskComponent));
        Assert.Contains(raised.Id, File.ReadAllText(store.Path), StringComparison.Ordinal);
        Assert.Equal(2, new AlertEngine(kit.Options, Profiles, null, kit.Time, new AlertStore(store.Path)).OpenAlerts().Count);
        Assert.True(await saver.StopAsync());
        Assert.Equal(1, disk.Episodes);
    }

    [Fact]
    public async Task StopAsync_DiskRefusesTheWrite_ReportsItWithoutThrowing()
    {
        using var kit = new AlertTestKit();
        using var disk = new DiskHealth();
        var store = new AlertStore("/proc/smartcity-alerts/alerts.json");   // cannot be written, even by root
        using var saver = new AlertStateSaver(kit.Engine, store, Delay, kit.Time, disk, NullLogger.Instance);
        kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact");

        Assert.False(await saver.StopAsync());
        Assert.Equal(1, saver.Failures);
        Assert.True(disk.IsFailing(AlertStateSaver.DiskComponent));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        // The save runs on the saver's own loop: poll its counters, with a generous deadline.
        using var timeout = new CancellationTokenSource(Deadline);
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }
}

using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Tests.Alerting.Extensibility;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The alert loop's batching window (Alerting:ObserveBatchWindow), on its own fake clock: readings
/// wait for the window to end, anything else ends it at once.
/// </summary>
public sealed partial class AlertingServiceQueueTests
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(20);

    [Fact]
    public async Task ObserveAsync_ReadingsWithinTheWindow_RunTogetherWhenItEnds()
    {
        var (service, notifier, batchClock) = await StartWithWindowAsync();
        await service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);
        await service.ObserveAsync(Lamp(Noon), "streetlight", CancellationToken.None);

        // Only the window's clock ends the wait: moved in 1 ms steps until the loop has taken the readings.
        // The raise then reaches the notifier from the transitions' own loop (off the alert loop), in its time.
        var raised = notifier.WaitForAsync(t => t.Kind == AlertTransitionKind.Raised);
        var moved = TimeSpan.Zero;
        while (!raised.IsCompleted && service.QueueDepth > 0)
        {
            Assert.True(moved < TimeSpan.FromSeconds(1), $"not raised after moving the window's clock {moved}");
            if (moved < Window)
            {
                Assert.Equal(2, service.QueueDepth); // both still queued: nothing ran before the window ended
            }

            batchClock.Advance(TimeSpan.FromMilliseconds(1));
            moved += TimeSpan.FromMilliseconds(1);
            await Task.WhenAny(raised, WaitForQueueAsync(service, 0, TimeSpan.FromMilliseconds(20)));
        }

        Assert.True(moved >= Window, $"ran after {moved}");
        Assert.Equal("door_forced", (await raised.WaitAsync(Timeout)).Alert.Rule);
        await WaitForQueueAsync(service, 0, Timeout);
        await service.StopAsync(CancellationToken.None);
        service.Dispose();
    }

    [Fact]
    public async Task AlertsAsync_DuringTheWindow_EndsItAndSeesTheReadingsBeforeIt()
    {
        var (service, _, batchClock) = await StartWithWindowAsync();
        await service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);

        // The window's clock never moves: the operator's request ends the window, in queue order.
        var alert = Assert.Single(await service.AlertsAsync().WaitAsync(Timeout));

        Assert.Equal("door_forced", alert.Rule);
        Assert.Equal(TimeSpan.Zero, batchClock.GetUtcNow() - Noon);
        await service.StopAsync(CancellationToken.None);
        service.Dispose();
    }

    private async Task<(AlertingService Service, RecordingNotifier Notifier, FakeTimeProvider BatchClock)> StartWithWindowAsync()
    {
        var notifier = new RecordingNotifier();
        var batchClock = new FakeTimeProvider(Noon);
        var service = NewService([notifier], Window);
        service.BatchClock = batchClock;
        await service.StartAsync(CancellationToken.None);
        return (service, notifier, batchClock);
    }

    private static async Task WaitForQueueAsync(AlertingService service, int depth, TimeSpan timeout)
    {
        // The loop takes the whole batch at once; polled with a generous deadline, never slept on.
        var deadline = DateTime.UtcNow + timeout;
        while (service.QueueDepth != depth && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1);
        }
    }
}

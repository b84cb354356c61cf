using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Tests.Alerting.Extensibility;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The alert loop's batching window (Alerting:ObserveBatchWindow), on its own fake clock: readings
/// wait for the window to end, anything else ends it at once.
/// </summary>
public sealed class AlertingServiceBatchTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(20);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-alerting-batch-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(Noon);
    private readonly FakeTimeProvider _batchClock = new(Noon);
    private readonly PipelineMetrics _metrics = new();
    private readonly DiskHealth _disk = new();
    private readonly RecordingNotifier _notifier = new();
    private readonly DurableSpool _spool;
    private readonly AlertingService _service;

    public AlertingServiceBatchTests()
    {
        Directory.CreateDirectory(_dir);
        _spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = Path.Combine(_dir, "spool"), Fsync = false }),
            _metrics,
            _time,
            NullLogger<DurableSpool>.Instance);
        _service = new AlertingService(
            Options.Create(new AlertingOptions { StateFile = Path.Combine(_dir, "alerts.json"), ObserveBatchWindow = Window }),
            new ProfileSet(Profiles, []),
            _spool,
            _metrics,
            [_notifier],
            _time,
            _disk,
            NullLogger<AlertingService>.Instance)
        {
            BatchClock = _batchClock,
        };
    }

    public async Task InitializeAsync()
    {
        await _spool.StartAsync(CancellationToken.None);
        await _service.StartAsync(CancellationToken.None);
    }

    [Fact]
    public async Task ObserveAsync_ReadingsWithinTheWindow_RunTogetherWhenItEnds()
    {
        await _service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);
        await _service.ObserveAsync(Lamp(Noon), "streetlight", CancellationToken.None);

        // Only the window's clock ends the wait: moved in 1 ms steps until the alert is raised.
        var raised = _notifier.WaitForAsync(t => t.Kind == AlertTransitionKind.Raised);
        var moved = TimeSpan.Zero;
        while (!raised.IsCompleted)
        {
            Assert.True(moved < TimeSpan.FromSeconds(1), $"not raised after moving the window's clock {moved}");
            if (moved < Window)
            {
                Assert.Equal(2, _service.QueueDepth); // both still queued: nothing ran before the window ended
            }

            _batchClock.Advance(TimeSpan.FromMilliseconds(1));
            moved += TimeSpan.FromMilliseconds(1);
            await Task.WhenAny(raised, WaitForQueueAsync(0, TimeSpan.FromMilliseconds(20)));
        }

        Assert.True(moved >= Window, $"ran after {moved}");
        Assert.Equal("door_forced", (await raised).Alert.Rule);
        await WaitForQueueAsync(0, Timeout);
    }

    [Fact]
    public async Task AlertsAsync_DuringTheWindow_EndsItAndSeesTheReadingsBeforeIt()
    {
        await _service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);

        // The window's clock never moves: the operator's request ends the window, in queue order.
        var alert = Assert.Single(await _service.AlertsAsync().WaitAsync(Timeout));

        Assert.Equal("door_forced", alert.Rule);
        Assert.Equal(TimeSpan.Zero, _batchClock.GetUtcNow() - Noon);
    }

    private async Task WaitForQueueAsync(int depth, TimeSpan timeout)
    {
        // The loop takes the whole batch at once; polled with a generous deadline, never slept on.
        var deadline = DateTime.UtcNow + timeout;
        while (_service.QueueDepth != depth && DateTime.UtcNow < deadline)
        {
            await Task.Delay(1);
        }
    }

    public async Task DisposeAsync()
    {
        await _service.StopAsync(CancellationToken.None);
        _service.Dispose();
        _spool.CompleteIntake();
        await _spool.StopAsync(CancellationToken.None);
        _spool.Dispose();
        _metrics.Dispose();
        _disk.Dispose();
        Directory.Delete(_dir, recursive: true);
    }
}

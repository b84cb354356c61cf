using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Tests.Alerting.Extensibility;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The alerting service's queue is short and never drops: when it is full the caller (the MQTT
/// handler) waits, and what waited is evaluated once the engine catches up.
/// </summary>
public sealed partial class AlertingServiceQueueTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-alerting-queue-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(Noon);
    private readonly PipelineMetrics _metrics = new();
    private readonly DiskHealth _disk = new();
    private readonly DurableSpool _spool;
    private readonly AlertingService _service;

    public AlertingServiceQueueTests()
    {
        Directory.CreateDirectory(_dir);
        _spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = Path.Combine(_dir, "spool"), Fsync = false }),
            _metrics,
            _time,
            NullLogger<DurableSpool>.Instance);
        _service = NewService([]);
    }

    public Task InitializeAsync() => _spool.StartAsync(CancellationToken.None);

    [Fact]
    public async Task A_full_queue_makes_the_caller_wait_and_loses_nothing()
    {
        // The engine is not running yet: fill the queue with healthy lamp readings.
        for (var i = 0; i < AlertingService.QueueCapacity; i++)
        {
            var queued = _service.ObserveAsync(Lamp(Noon, device: $"lamp-{i}"), "streetlight", CancellationToken.None).AsTask();
            Assert.True(queued.IsCompletedSuccessfully);
        }

        Assert.Equal(AlertingService.QueueCapacity, _service.QueueDepth);

        // One more, that raises an alert: it waits instead of being dropped.
        var forced = _service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None).AsTask();
        Assert.False(forced.IsCompleted);

        await _service.StartAsync(CancellationToken.None);
        await forced.WaitAsync(Timeout);

        // Queued behind everything else, so the engine has seen it when this read comes back.
        var alerts = await _service.AlertsAsync().WaitAsync(Timeout);
        var alert = Assert.Single(alerts);
        Assert.Equal("door_forced", alert.Rule);
        Assert.Equal("door-1", alert.DeviceId);
    }

    [Fact]
    public async Task A_caller_waiting_on_a_full_queue_can_give_up()
    {
        for (var i = 0; i < AlertingService.QueueCapacity; i++)
        {
            await _service.ObserveAsync(Lamp(Noon, device: $"lamp-{i}"), "streetlight", CancellationToken.None);
        }

        using var cts = new CancellationTokenSource();
        var waiting = _service.ObserveAsync(Lamp(Noon), "streetlight", cts.Token).AsTask();
        Assert.False(waiting.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Timeout));
        Assert.Equal(AlertingService.QueueCapacity, _service.QueueDepth);
    }

    [Fact]
    public async Task FindAsync_RequestThrows_CallerGetsTheExceptionAndTheLoopGoesOn()
    {
        await _service.StartAsync(CancellationToken.None);

        // A request that throws inside the engine (here a null id): it used to end the loop, and every caller after it waited for ever.
        await Assert.ThrowsAsync<ArgumentNullException>(() => _service.FindAsync(null!).WaitAsync(Timeout));

        await _service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);
        Assert.Equal("door_forced", Assert.Single(await _service.AlertsAsync().WaitAsync(Timeout)).Rule);
        Assert.False(_service.ExecuteTask!.IsCompleted);
    }

    [Fact]
    public async Task ObserveAsync_ItemThrows_CountedAndTheLoopGoesOn()
    {
        await _service.StartAsync(CancellationToken.None);

        // An observation nobody awaits the result of: it fails alone, counted and logged.
        await _service.ObserveAsync(null!, "streetlight", CancellationToken.None);
        await _service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);

        Assert.Equal("door_forced", Assert.Single(await _service.AlertsAsync().WaitAsync(Timeout)).Rule);
        Assert.Equal(1, _service.FailedItems);
    }

    [Fact]
    public async Task AlertsAsync_CallerCancelsWhileQueued_StopsWaitingAndTheRequestIsSkipped()
    {
        // The engine is not running: the request waits in the queue until its caller gives up.
        using var cts = new CancellationTokenSource();
        var waiting = _service.AlertsAsync(cts.Token);
        Assert.False(waiting.IsCompleted);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(Timeout));

        // The loop later finds the abandoned request and goes on past it.
        await _service.StartAsync(CancellationToken.None);
        Assert.Empty(await _service.AlertsAsync().WaitAsync(Timeout));
    }

    [Fact]
    public async Task OnTransitionAsync_TestOnlyNotifierRegisteredWithOneLine_ReceivesTransitionsThroughTheQueue()
    {
        var services = new ServiceCollection().AddLogging().AddOptions();
        services.AddAlertNotifier<RecordingNotifier>();
        await using var provider = services.BuildServiceProvider();
        var recorder = provider.GetRequiredService<RecordingNotifier>();
        using var service = NewService(provider.GetServices<IAlertNotifier>());
        await service.StartAsync(CancellationToken.None);

        await service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);
        var raised = await recorder.WaitForAsync(t => t.Kind == AlertTransitionKind.Raised).WaitAsync(Timeout);
        await service.AcknowledgeAsync(raised.Alert.Id, "operator-1", "on my way").WaitAsync(Timeout);
        var acknowledged = await recorder.WaitForAsync(t => t.Kind == AlertTransitionKind.Acknowledged).WaitAsync(Timeout);

        Assert.Equal(("door_forced", "door-1"), (raised.Alert.Rule, raised.Alert.DeviceId));
        Assert.Equal(("operator-1", raised.Alert.Id), (acknowledged.Alert.AcknowledgedBy, acknowledged.Alert.Id));
        await service.StopAsync(CancellationToken.None);
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

    private AlertingService NewService(IEnumerable<IAlertNotifier> notifiers, TimeSpan? observeBatchWindow = null) => new(
        Options.Create(new AlertingOptions { StateFile = Path.Combine(_dir, "alerts.json"), ObserveBatchWindow = observeBatchWindow ?? AlertingDefaults.ObserveBatchWindow }),
        new ProfileSet(Profiles, []),
        _spool,
        _metrics,
        notifiers,
        _time,
        _disk,
        NullLogger<AlertingService>.Instance);
}

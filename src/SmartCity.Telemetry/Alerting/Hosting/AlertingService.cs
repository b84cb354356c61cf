using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting.Engine;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.Hosting;

/// <summary>
/// Hosts the <see cref="AlertEngine"/> in the worker: decoded points and last wills come in from
/// the source, a timer drives offline detection and escalation, and operators act through the API.
/// Everything reaches the engine through one queue, so it is only ever used by one thread.
/// The queue is short and full means wait: an observation is never dropped, and when the engine
/// falls behind the MQTT handler waits here, which holds back acknowledgements and so the broker
/// (the same flow control as the spool's). A long queue of observations each holding a decoded
/// point was what kept the worker's heap large during a 100,000-device burst.
/// Every transition is logged, written to InfluxDB (<c>alert_transition</c>, through the durable
/// spool) and handed to the notifiers.
/// </summary>
public sealed partial class AlertingService : BackgroundService
{
    public const string TransitionMeasurement = "alert_transition";
    internal const int QueueCapacity = 4_096;

    private readonly AlertEngine _engine;
    private readonly AlertNotifiers _notifiers;
    private readonly DurableSpool _spool;
    private readonly PipelineMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertingService> _logger;
    private readonly Channel<WorkItem> _work = Channel.CreateBounded<WorkItem>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly ProfileSet _profiles;
    private readonly AlertStateSaver _saver;

    public AlertingService(
        IOptions<AlertingOptions> options,
        ProfileSet profiles,
        DurableSpool spool,
        PipelineMetrics metrics,
        IEnumerable<IAlertNotifier> sinks,
        TimeProvider time,
        DiskHealth disk,
        ILogger<AlertingService> logger,
        AlertJournal? journal = null,
        HeldIntake? intake = null,
        IOptions<RegistryOptions>? registry = null)
    {
        _profiles = profiles;
        _spool = spool;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        var rules = CityRulesLoader.Load(options.Value.RulesFile, profiles.Profiles);
        var store = new AlertStore(options.Value.StateFile);
        // What the worker holds (unacknowledged messages, observations queued here) is not the devices' silence.
        _engine = new AlertEngine(options.Value, profiles.Profiles, rules.Rules, time, store, held: () => _work.Reader.Count + (intake?.Held ?? 0), expectedDevices: registry?.Value.ExpectedDevices ?? 0);
        _notifiers = new AlertNotifiers(sinks);
        _saver = new AlertStateSaver(_engine, store, options.Value.StateSaveDelay, time, disk, logger, journal);
        _batchWindow = options.Value.ObserveBatchWindow;
        UseJournal(journal, disk);
    }

    /// <summary>Writes the state file, debounced and off the alert loop.</summary>
    internal AlertStateSaver Saver => _saver;

    /// <summary>The alert state files as saved this moment (alerts and devices' liveness), for a backup while the worker runs.</summary>
    public Task<IReadOnlyList<(string Path, byte[] Content)>> SaveAndReadStateAsync(CancellationToken cancellationToken) =>
        _saver.SaveAndReadAsync(cancellationToken);

    /// <summary>Work items waiting for the engine.</summary>
    public int QueueDepth => _work.Reader.Count;

    /// <summary>
    /// A stored telemetry or event point of a device (called in message order by the source).
    /// Completes once queued; waits while the queue is full.
    /// </summary>
    public ValueTask ObserveAsync(Point point, string deviceType, CancellationToken cancellationToken) =>
        _profiles.ForDeviceType(deviceType) is { } profile
            ? EnqueueObservationAsync(point, profile.Id, cancellationToken)
            : ValueTask.CompletedTask;

    /// <summary>A last will: the device is offline now.</summary>
    public ValueTask DeviceWentOfflineAsync(string deviceId, DateTimeOffset at, CancellationToken cancellationToken) =>
        EnqueueAsync(() => _engine.DeviceWentOffline(deviceId, at), cancellationToken);

    /// <summary>A cleared birth: the device was decommissioned; its alerts resolve and it is forgotten.</summary>
    public ValueTask DeviceRemovedAsync(string deviceId, CancellationToken cancellationToken) =>
        EnqueueAsync(() => _engine.DeviceRemoved(deviceId), cancellationToken);

    /// <summary>A birth (<c>"online": true</c>), stamped by the device: an offline alert resolves.</summary>
    public ValueTask DeviceCameOnlineAsync(DeviceTopic topic, DateTimeOffset at, string? parent, CancellationToken cancellationToken)
    {
        if (_profiles.ForDeviceType(topic.DeviceType) is not { } profile)
        {
            return ValueTask.CompletedTask;
        }

        var identity = new DeviceIdentity(topic.DeviceId, topic.Sector, topic.District, topic.Site, topic.DeviceType);
        return EnqueueAsync(() => _engine.DeviceCameOnline(identity, profile.Id, at, parent), cancellationToken);
    }

    /// <summary>Work items that threw (a bug, or a notifier's or the spool's failure): each failed alone, the loop went on.</summary>
    public long FailedItems => Interlocked.Read(ref _failedItems);

    private long _failedItems;

    public Task<IReadOnlyList<Alert>> AlertsAsync(CancellationToken cancellationToken = default) => RunAsync(() => _engine.Alerts(), cancellationToken);

    public Task<Alert?> FindAsync(string id, CancellationToken cancellationToken = default) => RunAsync(() => _engine.Find(id), cancellationToken);

    public Task<AlertOperationResult> AcknowledgeAsync(string id, string who, string? comment, CancellationToken cancellationToken = default) =>
        OperateDurablyAsync(() => _engine.Acknowledge(id, who, comment), cancellationToken);

    public Task<AlertOperationResult> ResolveAsync(string id, string who, string? comment, CancellationToken cancellationToken = default) =>
        OperateDurablyAsync(() => _engine.Resolve(id, who, comment), cancellationToken);

    public Task<AlertOperationResult> CommentAsync(string id, string who, string text, CancellationToken cancellationToken = default) =>
        OperateDurablyAsync(() => _engine.Comment(id, who, text), cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ticker = TickAsync(stoppingToken);
        var publisher = StartPublishing(stoppingToken);
        try
        {
            await foreach (var item in ReadBatchedAsync(stoppingToken).ConfigureAwait(false))
            {
                // One item that throws fails alone: it used to end this loop, and every caller after
                // it (the MQTT handler, the operator API) then waited for ever on a queue nobody read.
                // A request's own exception reaches its caller through RunAsync; this catches the rest.
                try
                {
                    var transitions = item.Run is { } run ? run() : _engine.Observe(item.Reading!, item.ProfileId!);
                    if (transitions.Count > 0)
                    {
                        Published(transitions);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failedItems);
                    LogItemFailed(ex);
                }

                Judged(item.Seq);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await StopPublishingAsync(publisher).ConfigureAwait(false);
            await ticker.ConfigureAwait(false);
            // The latest state, whatever the debounce delay had left; a failure is logged and in /healthz.
            await _saver.StopAsync().ConfigureAwait(false);
        }
    }

    public override void Dispose()
    {
        _saver.Dispose();
        _loopEnded.Dispose();
        base.Dispose();
    }

    private async Task TickAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // A tick that finds the queue full is skipped, not waited for: the engine is busy
                // with observations, and the next tick comes in five seconds.
                if (_work.Writer.TryWrite(new WorkItem(_engine.Tick)))
                {
                    EndWindow();
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task PublishAsync(IReadOnlyList<AlertTransition> transitions, CancellationToken cancellationToken)
    {
        foreach (var t in transitions)
        {
            if (t.Kind == AlertTransitionKind.Removed)
            {
                continue;   // housekeeping, not a step of the alert's life: for the notifiers only (the retained MQTT state is cleared)
            }

            LogTransition(t.Kind.ToString(), t.Alert.Severity.ToString(), t.Alert.Rule, t.Alert.DeviceId, t.Alert.District, t.Alert.Site, t.Alert.Id, t.Suppressed);
            await _spool.AppendAsync(new BufferedMessage(LineProtocol.Format(ToPoint(t)), false, null, IsInternal: true), cancellationToken).ConfigureAwait(false);
        }

        foreach (var failure in await _notifiers.DispatchAsync(transitions, cancellationToken).ConfigureAwait(false))
        {
            LogNotifierFailed(failure.Notifier.GetType().Name, failure.Transition.Alert.Id, failure.Exception.Message);
        }
    }

    /// <summary>One transition as a point: tags to filter and group by in Grafana, free text in fields.</summary>
    public static Point ToPoint(AlertTransition t)
    {
        var a = t.Alert;
        var point = new Point(TransitionMeasurement, TransitionTime.Of(a, t.Entry))
            .Tag("transition", t.Kind.ToString().ToLowerInvariant())
            .Tag("rule", a.Rule)
            .Tag("severity", a.Severity.ToString().ToLowerInvariant())
            .Tag("sector", a.Sector)
            .Tag("district", a.District)
            .Tag("site", a.Site)
            .Tag("device_id", a.DeviceId)
            .Field("alert_id", a.Id)
            .Field("state", a.State.ToString().ToLowerInvariant())
            .Field("suppressed", t.Suppressed)
            .Field("description", a.Description ?? "")
            .Field("by", t.Entry.By ?? "")
            .Field("comment", t.Entry.Comment ?? "");
        if (t.Entry.Value is { } v && double.IsFinite(v))
        {
            point.Field("value", v);
        }

        if (t.Entry.DeviceTime is { } deviceTime)
        {
            point.Field("device_time", deviceTime.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture));
        }

        return point;
    }

    private ValueTask EnqueueAsync(Func<IReadOnlyList<AlertTransition>> work, CancellationToken cancellationToken)
    {
        var item = new WorkItem(work);
        if (TryWriteStamped(item))
        {
            EndWindow();
            return ValueTask.CompletedTask;
        }

        return WriteStampedAsync(item, cancellationToken);
    }

    private Task<T> RunAsync<T>(Func<T> read, CancellationToken cancellationToken) =>
        RequestAsync<T>(() => (read(), []), cancellationToken);

    private Task<AlertOperationResult> OperateAsync(Func<AlertOperationResult> operation, CancellationToken cancellationToken) =>
        RequestAsync<AlertOperationResult>(
            () =>
            {
                var result = operation();
                return (result, result.Transition is { } t ? [t] : []);
            },
            cancellationToken);

    private async Task<T> RequestAsync<T>(Func<(T Result, IReadOnlyList<AlertTransition> Transitions)> work, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Operator requests wait in the same queue as observations, so they see a consistent engine.
        // The queue is full for most of a burst; a request waits its turn (a few thousand items)
        // rather than failing, unless its caller gives up (the HTTP request was aborted).
        var write = _work.Writer.WriteAsync(
            new WorkItem(() =>
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    done.TrySetCanceled(cancellationToken);   // nobody waits for it any more: not run
                    return [];
                }

                try
                {
                    var (result, transitions) = work();
                    done.TrySetResult(result);
                    return transitions;
                }
                catch (Exception ex)
                {
                    done.TrySetException(ex);   // the caller gets it; the loop goes on
                    return [];
                }
            }),
            cancellationToken);
        await write.ConfigureAwait(false);
        EndWindow();
        return await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Alert {Transition}: {Severity} {Rule} on {DeviceId} ({District}/{Site}), alert {AlertId}{Suppressed}")]
    private partial void LogTransitionCore(string transition, string severity, string rule, string deviceId, string district, string site, string alertId, string suppressed);

    private void LogTransition(string transition, string severity, string rule, string deviceId, string district, string site, string alertId, bool suppressed) =>
        LogTransitionCore(transition, severity, rule, deviceId, district, site, alertId, suppressed ? " (flapping: notifications suppressed)" : "");

    [LoggerMessage(EventId = 6003, Level = LogLevel.Error, Message = "Alerting work item failed; that item only is lost, the engine goes on")]
    private partial void LogItemFailed(Exception error);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Notifier {Notifier} failed for alert {AlertId}: {Error}; the other notifiers and ingestion go on")]
    private partial void LogNotifierFailed(string notifier, string alertId, string error);
}

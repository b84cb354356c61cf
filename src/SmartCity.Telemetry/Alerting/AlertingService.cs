using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Pipeline;

namespace SmartCity.Telemetry.Alerting;

/// <summary>
/// Hosts the <see cref="AlertEngine"/> in the worker: decoded points and last wills come in from
/// the source, a timer drives offline detection and escalation, and operators act through the API.
/// Everything reaches the engine through one queue, so it is only ever used by one thread.
/// Every transition is logged, written to InfluxDB (<c>alert_transition</c>, through the durable
/// spool) and handed to the notifiers.
/// </summary>
public sealed partial class AlertingService : BackgroundService
{
    public const string TransitionMeasurement = "alert_transition";
    private const int QueueCapacity = 100_000;

    private readonly AlertEngine _engine;
    private readonly DurableSpool _spool;
    private readonly PipelineMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertingService> _logger;
    private readonly Channel<Func<IReadOnlyList<AlertTransition>>> _work = Channel.CreateBounded<Func<IReadOnlyList<AlertTransition>>>(
        new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ProfileSet _profiles;
    private long _dropped;

    public AlertingService(
        IOptions<AlertingOptions> options,
        ProfileSet profiles,
        DurableSpool spool,
        PipelineMetrics metrics,
        IEnumerable<IAlertSink> sinks,
        TimeProvider time,
        ILogger<AlertingService> logger)
    {
        _profiles = profiles;
        _spool = spool;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        var rules = CityRulesLoader.Load(options.Value.RulesFile, profiles.Profiles);
        _engine = new AlertEngine(options.Value, profiles.Profiles, rules.Rules, time, new AlertStore(options.Value.StateFile), sinks);
    }

    /// <summary>Observations the queue could not take (the engine fell that far behind); logged.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>A stored telemetry or event point of a device (called in message order by the source).</summary>
    public void Observe(Point point, string deviceType)
    {
        if (_profiles.ForDeviceType(deviceType) is { } profile)
        {
            Enqueue(() => _engine.Observe(point, profile.Id));
        }
    }

    /// <summary>A last will: the device is offline now.</summary>
    public void DeviceWentOffline(string deviceId, DateTimeOffset at) => Enqueue(() => _engine.DeviceWentOffline(deviceId, at));

    /// <summary>A birth (<c>"online": true</c>), stamped by the device: an offline alert resolves.</summary>
    public void DeviceCameOnline(DeviceTopic topic, DateTimeOffset at, string? parent)
    {
        if (_profiles.ForDeviceType(topic.DeviceType) is { } profile)
        {
            var identity = new DeviceIdentity(topic.DeviceId, topic.Sector, topic.District, topic.Site, topic.DeviceType);
            Enqueue(() => _engine.DeviceCameOnline(identity, profile.Id, at, parent));
        }
    }

    public Task<IReadOnlyList<Alert>> AlertsAsync() => RunAsync(() => _engine.Alerts());

    public Task<Alert?> FindAsync(string id) => RunAsync(() => _engine.Find(id));

    public Task<AlertOperationResult> AcknowledgeAsync(string id, string who, string? comment) => OperateAsync(() => _engine.Acknowledge(id, who, comment));

    public Task<AlertOperationResult> ResolveAsync(string id, string who, string? comment) => OperateAsync(() => _engine.Resolve(id, who, comment));

    public Task<AlertOperationResult> CommentAsync(string id, string who, string text) => OperateAsync(() => _engine.Comment(id, who, text));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var ticker = TickAsync(stoppingToken);
        try
        {
            await foreach (var item in _work.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                var transitions = item();
                if (transitions.Count > 0)
                {
                    await PublishAsync(transitions, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await ticker.ConfigureAwait(false);
            _engine.Save();
        }
    }

    private async Task TickAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Enqueue(_engine.Tick);
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
            LogTransition(t.Kind.ToString(), t.Alert.Severity.ToString(), t.Alert.Rule, t.Alert.DeviceId, t.Alert.District, t.Alert.Site, t.Alert.Id, t.Suppressed);
            await _spool.AppendAsync(new BufferedMessage(LineProtocol.Format(ToPoint(t)), false, null, IsInternal: true), cancellationToken).ConfigureAwait(false);
        }

        foreach (var failure in await _engine.DispatchAsync(transitions, cancellationToken).ConfigureAwait(false))
        {
            LogNotifierFailed(failure.Sink.GetType().Name, failure.Transition.Alert.Id, failure.Exception.Message);
        }
    }

    /// <summary>One transition as a point: tags to filter and group by in Grafana, free text in fields.</summary>
    public static Point ToPoint(AlertTransition t)
    {
        var a = t.Alert;
        var point = new Point(TransitionMeasurement, DateTimeOffset.FromUnixTimeMilliseconds(t.Entry.At.ToUnixTimeMilliseconds()))
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

    private void Enqueue(Func<IReadOnlyList<AlertTransition>> work)
    {
        if (!_work.Writer.TryWrite(work))
        {
            if (Interlocked.Increment(ref _dropped) % 1_000 == 1)
            {
                LogDropped(Dropped);
            }
        }
    }

    private Task<T> RunAsync<T>(Func<T> read)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        // Operator requests wait in the same queue as observations, so they see a consistent engine.
        if (!_work.Writer.TryWrite(() =>
            {
                done.TrySetResult(read());
                return [];
            }))
        {
            done.TrySetException(new InvalidOperationException("the alerting queue is full; try again"));
        }

        return done.Task;
    }

    private Task<AlertOperationResult> OperateAsync(Func<AlertOperationResult> operation)
    {
        var done = new TaskCompletionSource<AlertOperationResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_work.Writer.TryWrite(() =>
            {
                var result = operation();
                done.TrySetResult(result);
                return result.Transition is { } t ? [t] : [];
            }))
        {
            done.TrySetException(new InvalidOperationException("the alerting queue is full; try again"));
        }

        return done.Task;
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Warning, Message = "Alert {Transition}: {Severity} {Rule} on {DeviceId} ({District}/{Site}), alert {AlertId}{Suppressed}")]
    private partial void LogTransitionCore(string transition, string severity, string rule, string deviceId, string district, string site, string alertId, string suppressed);

    private void LogTransition(string transition, string severity, string rule, string deviceId, string district, string site, string alertId, bool suppressed) =>
        LogTransitionCore(transition, severity, rule, deviceId, district, site, alertId, suppressed ? " (flapping: notifications suppressed)" : "");

    [LoggerMessage(EventId = 6002, Level = LogLevel.Error, Message = "Notifier {Notifier} failed for alert {AlertId}: {Error}; the other notifiers and ingestion go on")]
    private partial void LogNotifierFailed(string notifier, string alertId, string error);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Error, Message = "Alerting queue full: {Dropped} observations not evaluated so far (the engine is behind ingestion)")]
    private partial void LogDropped(long dropped);
}

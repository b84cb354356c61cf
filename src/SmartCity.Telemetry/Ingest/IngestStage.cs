using System.Buffers;
using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Ingest;

/// <summary>
/// The ingest stage, everything the worker does with one message between the source and the spool:
/// decode, admit to the device registry, show it to alerting, dead-letter it if rejected, format
/// it as line protocol and append it to the durable spool, which acknowledges it once on disk.
/// Messages arrive one at a time in order (the source awaits each), so a birth registers its
/// device before the telemetry that follows it.
/// </summary>
public sealed partial class IngestStage(
    MessageDecoder decoder,
    DeviceRegistry registry,
    AlertingService alerting,
    DurableSpool spool,
    PipelineMetrics metrics,
    DeadLetters deadLetters,
    TimeProvider time,
    ILogger<IngestStage> logger,
    IEnumerable<IDeviceMessageObserver>? observers = null) : IMessageHandler, IStage
{
    private const string IntakeClosed = "intake_closed";

    // Each line goes into the arena as UTF-8, copied from there into its spool record: no string per message.
    private static readonly Utf8LineWriter<Point> FormatUtf8 = LineProtocol.TryFormatUtf8;
    private readonly SpoolLineArena _lines = new();
    private readonly TimeProvider _time = time;
    private readonly RejectionLogLimiter<RejectReason> _rejectionLog = new(time, TimeSpan.FromMinutes(1));
    private readonly ILogger<IngestStage> _logger = logger;
    private readonly IDeviceMessageObserver[] _observers = [.. observers ?? []];

    /// <summary>
    /// Received: every message; sent: appended to the spool (telemetry and dead letters); errors: rejections,
    /// by reason; discarded: messages not for the worker and messages left unacknowledged at stop.
    /// </summary>
    public StageCounters Counters => metrics.IngestStage;

    public async Task HandleAsync(string topic, ReadOnlySequence<byte> payload, Func<CancellationToken, Task> acknowledge, CancellationToken intake)
    {
        metrics.IngestStage.Received();
        var receivedAt = _time.GetUtcNow();
        var outcome = registry.Admit(decoder.Decode(topic, payload, receivedAt), receivedAt);
        BufferedMessage buffered;
        switch (outcome.Status)
        {
            case DecodeStatus.Accepted:
                metrics.Accepted();
                try
                {
                    // Waits while the alert engine is behind (its queue is short): flow control, not loss.
                    await ObserveAsync(outcome, receivedAt, intake).ConfigureAwait(false);
                    foreach (var observer in _observers)
                    {
                        observer.Observe(outcome.Topic!.Value, outcome.Result.Point!, receivedAt);
                    }
                }
                catch (OperationCanceledException)
                {
                    // Intake closed while waiting; the message stays unacknowledged and comes again.
                    metrics.IngestStage.Discarded(IntakeClosed);
                    return;
                }

                buffered = Buffer(outcome.Result.Point!, false, acknowledge);
                break;
            case DecodeStatus.Ignored:
                metrics.Ignored();
                metrics.IngestStage.Discarded("not_for_worker");
                buffered = new(null, false, acknowledge);
                break;
            default:
                buffered = Buffer(DeadLetter(topic, payload, outcome, receivedAt), true, acknowledge);
                break;
        }

        try
        {
            if (!await spool.AppendAsync(buffered, intake).ConfigureAwait(false))
            {
                metrics.IngestStage.Discarded(IntakeClosed);
            }
            else if (buffered.HasRecord)
            {
                metrics.IngestStage.Sent();
            }
        }
        catch (OperationCanceledException)
        {
            // Intake closed while the spool was full; the message stays unacknowledged.
            metrics.IngestStage.Discarded(IntakeClosed);
        }
    }

    public async Task DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        spool.CompleteIntake();
        try
        {
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(timeout);
            await spool.IntakeFlushed.WaitAsync(drain.Token).ConfigureAwait(false);
            await spool.WaitUntilEmptyAsync(drain.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogDrainTimedOut(spool.Depth);
        }
    }

    /// <summary>The point's line for the spool: in the arena, or as a string when it is larger than an arena chunk.</summary>
    private BufferedMessage Buffer(Point point, bool deadLetter, Func<CancellationToken, Task> acknowledge) =>
        _lines.TryWrite(point, FormatUtf8, out var line)
            ? new(null, deadLetter, acknowledge) { Utf8Line = line }
            : new(LineProtocol.Format(point), deadLetter, acknowledge);

    private Point DeadLetter(string topic, in ReadOnlySequence<byte> payload, DecodeOutcome outcome, DateTimeOffset receivedAt)
    {
        var reason = outcome.Result.Reason.ToString();
        metrics.Rejected(reason);
        metrics.IngestStage.Error(reason);
        var deadLetter = deadLetters.Create(topic, payload, outcome.Result, outcome.Topic, receivedAt);
        if (_rejectionLog.ShouldLog(outcome.Result.Reason, out var suppressed))
        {
            LogRejected(outcome.Result.Reason.ToString(), JsonPayload.Truncate(topic, 200), outcome.Result.Detail, suppressed);
        }

        return deadLetter;
    }

    /// <summary>Alert rules see what is stored, in the order it arrived; last wills raise offline alerts at once.</summary>
    private ValueTask ObserveAsync(DecodeOutcome outcome, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var topic = outcome.Topic!.Value;
        var point = outcome.Result.Point!;
        if (topic.Kind == MessageKind.Status)
        {
            if (StatusDecoder.IsRemoval(point))
            {
                metrics.DeviceRemoved();
                return alerting.DeviceRemovedAsync(topic.DeviceId, cancellationToken);
            }

            if (point.GetField("online") is { Boolean: false })
            {
                return alerting.DeviceWentOfflineAsync(topic.DeviceId, receivedAt, cancellationToken);
            }

            return point.GetField("online") is { Boolean: true }
                ? alerting.DeviceCameOnlineAsync(topic, point.Timestamp, point.GetField("parent") is { Type: FieldType.String } parent ? parent.Text : null, cancellationToken)
                : ValueTask.CompletedTask;
        }

        return alerting.ObserveAsync(point, topic.DeviceType, cancellationToken);
    }

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Rejected message ({Reason}) on '{Topic}': {Detail} [{Suppressed} similar rejections not logged since the last one]")]
    private partial void LogRejected(string reason, string topic, string detail, long suppressed);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Stopping with {Depth} records not yet stored; they stay in the spool for the next start")]
    private partial void LogDrainTimedOut(long depth);
}

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>A point-in-time copy of the pipeline counters (what /api/pipeline answers).</summary>
public sealed record PipelineSnapshot(
    long Received,
    long Accepted,
    long Rejected,
    long Ignored,
    long DevicesRemoved,
    long PointsWritten,
    long DeadLettersWritten,
    long LinesDroppedByDatabase,
    long Acknowledged,
    long WriteFailures,
    double LastWriteMilliseconds,
    long Reconnects,
    long WatchdogResubscribes,
    long SpoolDepth,
    long SpoolBytes,
    double SpoolOldestAgeSeconds,
    bool SpoolFull,
    long SpoolFullEvents,
    long SpoolExpired,
    long SpoolCorrupt,
    bool SourceConnected,
    bool SinkBlocked,
    string? SinkBlockedReason,
    IReadOnlyDictionary<string, long> RejectedByReason);

/// <summary>
/// The counters every stage reports (Vector's component spec: received, sent, errors, discarded),
/// exported through <see cref="System.Diagnostics.Metrics"/> under the meter <c>SmartCity.Pipeline</c>
/// and readable as a snapshot for the operator API and the tests.
/// </summary>
public sealed class PipelineMetrics : ISpoolMetrics, IDisposable
{
    public const string MeterName = "SmartCity.Pipeline";

    private readonly Meter _meter;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _ignored;
    private readonly Counter<long> _devicesRemoved;
    private readonly Counter<long> _written;
    private readonly Counter<long> _writeFailures;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _watchdog;
    private readonly Counter<long> _spoolFullEvents;
    private readonly Counter<long> _spoolExpired;
    private readonly Counter<long> _spoolCorrupt;
    private readonly ConcurrentDictionary<string, long> _rejectedByReason = new();
    private readonly object _waitersLock = new();
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private long _receivedCount;
    private long _acceptedCount;
    private long _rejectedCount;
    private long _ignoredCount;
    private long _devicesRemovedCount;
    private long _pointsWritten;
    private long _deadLettersWritten;
    private long _linesDropped;
    private long _acknowledged;
    private long _writeFailureCount;
    private double _lastWriteMilliseconds;
    private readonly Histogram<double> _writeDuration;
    private long _reconnectCount;
    private long _watchdogCount;
    private long _spoolFullCount;
    private long _spoolExpiredCount;
    private long _spoolCorruptCount;
    private volatile bool _spoolFull;
    private ISpoolGauges? _spool;
    private volatile bool _sourceConnected;
    private volatile SinkBlock? _sinkBlocked;

    /// <summary>Why the sink is blocked: in full (for API keys) and as a class with no details (for anonymous /healthz).</summary>
    private sealed record SinkBlock(string Reason, string Summary);

    public PipelineMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        var stages = new StageInstruments(_meter);
        SourceStage = new StageCounters(stages, "source");
        IngestStage = new StageCounters(stages, "ingest");
        SpoolStage = new StageCounters(stages, "spool");
        InfluxStage = new StageCounters(stages, "influx");
        // Counted with every message: observable, read when the exporter collects (see StageCounters).
        _meter.CreateObservableCounter("smartcity.messages.received", () => Interlocked.Read(ref _receivedCount), "{message}", "MQTT messages received by the source");
        _meter.CreateObservableCounter("smartcity.messages.accepted", () => Interlocked.Read(ref _acceptedCount), "{message}", "Messages decoded into points");
        _rejected = _meter.CreateCounter<long>("smartcity.messages.rejected", "{message}", "Messages rejected, by reason");
        _ignored = _meter.CreateCounter<long>("smartcity.messages.ignored", "{message}", "Messages not meant for the worker (device commands)");
        _devicesRemoved = _meter.CreateCounter<long>("smartcity.devices.removed", "{message}", "Cleared retained births (zero-length status): devices decommissioned; also counted as accepted");
        _written = _meter.CreateCounter<long>("smartcity.points.written", "{point}", "Points accepted by InfluxDB, by kind (telemetry, dead_letter)");
        _writeFailures = _meter.CreateCounter<long>("smartcity.sink.write_failures", "{attempt}", "Failed write attempts, by classification");
        _writeDuration = _meter.CreateHistogram<double>("smartcity.sink.write_duration", "ms", "Duration of successful InfluxDB writes (one batch)");
        _reconnects = _meter.CreateCounter<long>("smartcity.source.reconnects", "{reconnect}", "MQTT reconnections after a lost connection");
        _watchdog = _meter.CreateCounter<long>("smartcity.source.watchdog_resubscribes", "{event}", "Reconnections forced because the subscription went quiet against expected traffic");
        _spoolFullEvents = _meter.CreateCounter<long>("smartcity.spool.full_events", "{event}", "Times the spool reached Spool:MaxBytes and intake paused");
        _spoolExpired = _meter.CreateCounter<long>("smartcity.spool.expired", "{record}", "Spooled records older than Spool:MaxAge, not stored");
        _spoolCorrupt = _meter.CreateCounter<long>("smartcity.spool.corrupt", "{event}", "Corrupt spool segments skipped");
        _meter.CreateObservableGauge("smartcity.spool.depth", () => _spool?.Depth ?? 0, "{record}", "Records on disk not yet stored");
        _meter.CreateObservableGauge("smartcity.spool.bytes", () => _spool?.BytesOnDisk ?? 0, "By", "Spool size on disk");
        _meter.CreateObservableGauge("smartcity.spool.oldest_age", () => _spool?.OldestAge.TotalSeconds ?? 0, "s", "Age of the oldest record not yet stored");
    }

    /// <summary>The MQTT source's counters.</summary>
    public StageCounters SourceStage { get; }

    /// <summary>The ingest stage's counters (decode, admit, observe, append).</summary>
    public StageCounters IngestStage { get; }

    /// <summary>The durable spool's counters.</summary>
    public StageCounters SpoolStage { get; }

    /// <summary>
    /// The InfluxDB sink's counters, fed by <see cref="Written"/>, <see cref="WriteFailed"/> and
    /// <see cref="DroppedByDatabase"/>: a batch counts as received when it is settled.
    /// </summary>
    public StageCounters InfluxStage { get; }

    public void Received() => Interlocked.Increment(ref _receivedCount);

    public void Accepted() => Interlocked.Increment(ref _acceptedCount);

    public void Ignored() { Interlocked.Increment(ref _ignoredCount); _ignored.Add(1); }

    /// <summary>A cleared birth: one of the accepted messages (stored as <c>removed=true</c>), counted apart as well.</summary>
    public void DeviceRemoved() { Interlocked.Increment(ref _devicesRemovedCount); _devicesRemoved.Add(1); }

    /// <summary>A rejected message; <paramref name="reason"/> is the reject reason's name (the stage above owns the vocabulary).</summary>
    public void Rejected(string reason)
    {
        Interlocked.Increment(ref _rejectedCount);
        _rejectedByReason.AddOrUpdate(reason, 1, static (_, n) => n + 1);
        _rejected.Add(1, new KeyValuePair<string, object?>("reason", reason));
    }

    public void Written(int telemetryPoints, int deadLetters)
    {
        Interlocked.Add(ref _pointsWritten, telemetryPoints);
        Interlocked.Add(ref _deadLettersWritten, deadLetters);
        _written.Add(telemetryPoints, new KeyValuePair<string, object?>("kind", "telemetry"));
        _written.Add(deadLetters, new KeyValuePair<string, object?>("kind", "dead_letter"));
        InfluxStage.Received(telemetryPoints + deadLetters);
        InfluxStage.Sent(telemetryPoints + deadLetters);
    }

    public void WriteSucceeded(TimeSpan duration)
    {
        Volatile.Write(ref _lastWriteMilliseconds, duration.TotalMilliseconds);
        _writeDuration.Record(duration.TotalMilliseconds);
    }

    public void DroppedByDatabase(int lines)
    {
        Interlocked.Add(ref _linesDropped, lines);
        InfluxStage.Discarded("refused_by_database", lines);
    }

    public void Acknowledged(int count) => Interlocked.Add(ref _acknowledged, count);

    public void WriteFailed(string classification)
    {
        Interlocked.Increment(ref _writeFailureCount);
        _writeFailures.Add(1, new KeyValuePair<string, object?>("class", classification));
        InfluxStage.Error(classification);
    }

    public void Reconnected() { Interlocked.Increment(ref _reconnectCount); _reconnects.Add(1); }

    public void WatchdogResubscribed() { Interlocked.Increment(ref _watchdogCount); _watchdog.Add(1); }

    public void SpoolFull(bool full)
    {
        _spoolFull = full;
        if (full)
        {
            Interlocked.Increment(ref _spoolFullCount);
            _spoolFullEvents.Add(1);
        }

        NotifyProgress();
    }

    public void SpoolExpired(int records)
    {
        Interlocked.Add(ref _spoolExpiredCount, records);
        _spoolExpired.Add(records);
        SpoolStage.Discarded("expired", records);
    }

    public void SpoolCorrupt()
    {
        Interlocked.Increment(ref _spoolCorruptCount);
        _spoolCorrupt.Add(1);
        SpoolStage.Error("corrupt_segment");
    }

    void ISpoolMetrics.ObserveSpool(ISpoolGauges spool) => _spool = spool;

    public void SourceConnected(bool connected)
    {
        _sourceConnected = connected;
        NotifyProgress();
    }

    /// <param name="reason">In full, server messages and addresses included (null: not blocked).</param>
    /// <param name="summary">The class of the reason with no detail, for anonymous callers (default: "storage blocked").</param>
    public void SinkBlocked(string? reason, string? summary = null)
    {
        var was = _sinkBlocked;
        _sinkBlocked = reason is null ? null : new SinkBlock(reason, summary ?? "storage blocked");
        if (was is not null || reason is not null)
        {
            // A change of state is progress for whoever waits on it (WaitUntilAsync); a sink that stays unblocked says nothing.
            NotifyProgress();
        }
    }

    /// <summary>The class of <see cref="PipelineSnapshot.SinkBlockedReason"/>, with no addresses or server messages; null when not blocked.</summary>
    public string? SinkBlockedSummary => _sinkBlocked?.Summary;

    public PipelineSnapshot Snapshot() => new(
        Interlocked.Read(ref _receivedCount),
        Interlocked.Read(ref _acceptedCount),
        Interlocked.Read(ref _rejectedCount),
        Interlocked.Read(ref _ignoredCount),
        Interlocked.Read(ref _devicesRemovedCount),
        Interlocked.Read(ref _pointsWritten),
        Interlocked.Read(ref _deadLettersWritten),
        Interlocked.Read(ref _linesDropped),
        Interlocked.Read(ref _acknowledged),
        Interlocked.Read(ref _writeFailureCount),
        Math.Round(Volatile.Read(ref _lastWriteMilliseconds), 3),
        Interlocked.Read(ref _reconnectCount),
        Interlocked.Read(ref _watchdogCount),
        _spool?.Depth ?? 0,
        _spool?.BytesOnDisk ?? 0,
        Math.Round(_spool?.OldestAge.TotalSeconds ?? 0, 3),
        _spoolFull,
        Interlocked.Read(ref _spoolFullCount),
        Interlocked.Read(ref _spoolExpiredCount),
        Interlocked.Read(ref _spoolCorruptCount),
        _sourceConnected,
        _sinkBlocked is not null,
        _sinkBlocked?.Reason,
        _rejectedByReason.ToDictionary(kv => kv.Key, kv => kv.Value));

    /// <summary>Signals waiters that a batch finished; called once per batch, not per message.</summary>
    public void NotifyProgress()
    {
        TaskCompletionSource previous;
        lock (_waitersLock)
        {
            previous = _progress;
            _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    /// <summary>Completes at the next batch (or connection change); for checks that cannot be a snapshot condition.</summary>
    public Task NextProgressAsync(TimeSpan timeout)
    {
        lock (_waitersLock)
        {
            return _progress.Task.WaitAsync(timeout);
        }
    }

    /// <summary>Waits until <paramref name="condition"/> holds on a snapshot, re-checking after every batch.</summary>
    public async Task<PipelineSnapshot> WaitUntilAsync(Func<PipelineSnapshot, bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        while (true)
        {
            Task next;
            lock (_waitersLock)
            {
                next = _progress.Task;
            }

            var snapshot = Snapshot();
            if (condition(snapshot))
            {
                return snapshot;
            }

            try
            {
                await next.WaitAsync(cts.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"pipeline condition not met within {timeout}; last snapshot: {Snapshot()}");
            }
        }
    }

    public void Dispose() => _meter.Dispose();
}

using System.Diagnostics.Metrics;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// The worker's own bound on the MQTT messages it holds in memory: read off the socket and not yet
/// durable and acknowledged. MQTTnet 5 reads every PUBLISH into an unbounded queue, and mosquitto
/// 2.0.11 lets a whole Receive Maximum more through with each PUBACK (ReceiveMaximumTests), so the
/// broker's backlog used to move into the worker (46,736 packets in a heap dump). Here the socket
/// reader waits before reading the next packet while <see cref="Depth"/> is at the bound; TCP then
/// holds the rest in the broker. Nothing is lost: a message is acknowledged only after the spool
/// fsynced it, and a message never read stays the broker's.
/// A held reader resumes only once a quarter of the bound is free (<see cref="ResumeAt"/>), not at the
/// first release: acknowledgements are released one by one at each group commit, and a reader that got
/// a core between two of them read one packet and waited again, a thread-pool hand-off per message. On
/// the real broker the acknowledging loop usually released a whole commit first (Ingestion.ReceiveBacklogTests:
/// 44 holds for 20,000 messages before, 42 after); this bounds the worst case of a loaded machine
/// (docs/performance.md, issue 25, thread wake-ups).
/// The hold starts at the read that reaches the bound (<see cref="Held"/>), not when the reader next asks
/// for room: the reader hands each message to its handler before it asks, and the spool may free room
/// meanwhile; asking then found room, read one more message and skipped both the count and the
/// resume-at-a-quarter rule.
/// </summary>
public sealed class ReceiveBacklog : IDisposable
{
    private readonly int _limit;
    private readonly long _resumeAt;
    private readonly TimeProvider _time;
    private readonly Meter _meter;
    private readonly object _lock = new();
    private TaskCompletionSource? _room;
    private volatile bool _held;
    private long _depth;
    private long _peak;
    private long _heldTicks;
    private long _heldSince;
    private long _episodes;
    private long _resumes;

    public ReceiveBacklog(int limit, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        _limit = limit;
        _resumeAt = limit - Math.Max(1, limit / 4);
        _time = time;
        _meter = new Meter(PipelineMetrics.MeterName);
        _meter.CreateObservableGauge("smartcity.source.receive_backlog", () => Depth, "{message}", "MQTT messages read and not yet durable and acknowledged (bounded by Mqtt:MaxReceiveBacklog)");
        _meter.CreateObservableCounter("smartcity.source.receive_held", () => HeldTime.TotalSeconds, "s", "Time the MQTT reader waited because the receive backlog was at its bound");
    }

    public int Limit => _limit;

    /// <summary>A reader held at the bound is let go once <see cref="Depth"/> is down to this (a quarter of the bound below it; one below for a bound under 8).</summary>
    public long ResumeAt => _resumeAt;

    /// <summary>Times a held reader was let go (one per hold, however many messages were released meanwhile).</summary>
    public long Resumes => Interlocked.Read(ref _resumes);

    /// <summary>Messages read from the broker and not yet released (acknowledged after the fsync, or abandoned).</summary>
    public long Depth => Interlocked.Read(ref _depth);

    /// <summary>Highest <see cref="Depth"/> since start.</summary>
    public long Peak => Interlocked.Read(ref _peak);

    /// <summary>Times a read reached the bound, holding the reader until <see cref="ResumeAt"/>.</summary>
    public long HeldEpisodes => Interlocked.Read(ref _episodes);

    /// <summary>Total time the reader waited at the bound (including a wait in progress).</summary>
    public TimeSpan HeldTime
    {
        get
        {
            lock (_lock)
            {
                var ticks = _heldTicks;
                return TimeSpan.FromTicks(_held ? ticks + _time.GetElapsedTime(_heldSince).Ticks : ticks);
            }
        }
    }

    /// <summary>True while <see cref="Depth"/> is at the bound itself.</summary>
    public bool AtLimit => Interlocked.Read(ref _depth) >= _limit;

    /// <summary>True while the next read must wait: from the read that reached the bound until <see cref="Depth"/> is down to <see cref="ResumeAt"/>.</summary>
    public bool Held => _held;

    /// <summary>Completes once the reader is no longer held (at once when it is not).</summary>
    public Task WaitForRoomAsync(CancellationToken cancellationToken)
    {
        Task wait;
        lock (_lock)
        {
            if (!_held)
            {
                return Task.CompletedTask;
            }

            _room ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _room.Task;
        }

        return wait.WaitAsync(cancellationToken);
    }

    /// <summary>One message read off the socket.</summary>
    public void Read()
    {
        var depth = Interlocked.Increment(ref _depth);
        long peak;
        while (depth > (peak = Interlocked.Read(ref _peak)) && Interlocked.CompareExchange(ref _peak, depth, peak) != peak)
        {
        }

        if (depth >= _limit)
        {
            Hold();
        }
    }

    private void Hold()
    {
        lock (_lock)
        {
            // Releases that brought the depth back to ResumeAt before this lock was taken found no hold
            // to end; a release after this check finds it (it takes the lock once at or below ResumeAt).
            if (_held || Interlocked.Read(ref _depth) <= _resumeAt)
            {
                return;
            }

            _held = true;
            _heldSince = _time.GetTimestamp();
            _episodes++;
        }
    }

    /// <summary><paramref name="count"/> messages left memory: acknowledged, abandoned, or dropped with their connection.</summary>
    public void Release(long count = 1)
    {
        if (count <= 0)
        {
            return;
        }

        var depth = Interlocked.Add(ref _depth, -count);
        if (depth > _resumeAt)
        {
            // A reader waiting now (or about to) goes on at ResumeAt: every message read is released in
            // the end (acknowledged after its commit, or abandoned), so the depth gets there without
            // further reading. A reader that looks after this release and finds room does not wait.
            return;
        }

        TaskCompletionSource? room;
        lock (_lock)
        {
            if (!_held)
            {
                return;
            }

            _held = false;
            room = _room;
            _room = null;
            _heldTicks += _time.GetElapsedTime(_heldSince).Ticks;
            _resumes++;
        }

        room?.TrySetResult();
    }

    public void Dispose() => _meter.Dispose();
}

using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Alerting.Hosting;

/// <summary>
/// What the spool's commit waits for (<see cref="JudgedAsync"/>): every item the message path queued
/// (readings, births, last wills, removals) carries a sequence number, stamped in queue order, and the
/// loop publishes the last one it has judged and journaled. A commit compares the two and waits only
/// when the loop is behind, woken by the loop once it reaches the commit's number. It used to send a
/// marker through the queue and wait for it at every group commit: an allocation, a window ended early
/// and two thread hand-offs per commit even when the loop had long judged everything (issue 25: worker
/// CPU per message at max rate 68 -> 82 us after the alert journal came).
/// </summary>
public sealed partial class AlertingService
{
    // Stamping and queueing under one lock keeps the numbers in queue order when several sources
    // (MQTT, TALQ) queue at once; uncontended it is a few nanoseconds per message.
    private readonly Lock _stamp = new();
    private long _stamped;
    private long _judged;
    private JudgedWaiter? _waiter;

    /// <summary>
    /// An item of the alert loop: <paramref name="Run"/>, or for a device's reading (one per message)
    /// <paramref name="Reading"/> observed under <paramref name="ProfileId"/>, with no closure and
    /// delegate per message (issue 25). <paramref name="Seq"/> is 0 for items no message waits for (timer, operator).
    /// </summary>
    private readonly record struct WorkItem(Func<IReadOnlyList<AlertTransition>>? Run, long Seq = 0, Point? Reading = null, string? ProfileId = null);

    private sealed class JudgedWaiter(long target)
    {
        public long Target { get; } = target;

        public TaskCompletionSource Reached { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private bool TryWriteStamped(in WorkItem work)
    {
        lock (_stamp)
        {
            var seq = _stamped + 1;
            if (!_work.Writer.TryWrite(work with { Seq = seq }))
            {
                return false;
            }

            Volatile.Write(ref _stamped, seq);
            return true;
        }
    }

    /// <summary>The queue is full (the engine is behind): waits for room, then stamps and queues.</summary>
    private async ValueTask WriteStampedAsync(WorkItem work, CancellationToken cancellationToken)
    {
        while (await _work.Writer.WaitToWriteAsync(cancellationToken).ConfigureAwait(false))
        {
            if (TryWriteStamped(work))
            {
                return;
            }
        }

        throw new System.Threading.Channels.ChannelClosedException();
    }

    /// <summary>On the loop, after an item ran and its transitions were journaled.</summary>
    private void Judged(long seq)
    {
        if (seq == 0)
        {
            return;
        }

        // A full fence: the waiter publishes itself, then reads this; the loop writes this, then reads the waiter.
        Interlocked.Exchange(ref _judged, seq);
        if (Volatile.Read(ref _waiter) is { } waiter && seq >= waiter.Target
            && Interlocked.CompareExchange(ref _waiter, null, waiter) == waiter)
        {
            waiter.Reached.TrySetResult();
        }
    }

    /// <summary>
    /// Completes once the loop has judged (and journaled) every item the message path queued before
    /// this call: at once when it has, or when the loop has ended (its state is saved whole at its stop).
    /// A loop not started yet is waited for: the host starts it on a thread of its own, so a reading
    /// queued just after the service's start could otherwise be acknowledged before it is judged.
    /// </summary>
    private ValueTask JudgedAsync(CancellationToken cancellationToken)
    {
        var target = Volatile.Read(ref _stamped);
        return Volatile.Read(ref _loopState) == LoopEnded || Volatile.Read(ref _judged) >= target
            ? ValueTask.CompletedTask
            : WaitJudgedAsync(target, cancellationToken);
    }

    private async ValueTask WaitJudgedAsync(long target, CancellationToken cancellationToken)
    {
        while (true)
        {
            var mine = new JudgedWaiter(target);
            var other = Interlocked.CompareExchange(ref _waiter, mine, null);
            var waiter = other ?? mine;
            if (Volatile.Read(ref _loopState) == LoopEnded || Volatile.Read(ref _judged) >= target)
            {
                // Reached meanwhile (or the loop ended).
                Interlocked.CompareExchange(ref _waiter, null, mine);
                return;
            }

            // The loop may be waiting out its batching window: this commit holds acknowledgements.
            EndWindow();
            await waiter.Reached.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (other is null)
            {
                return;
            }

            // Another caller's waiter (its own number, maybe lower): look again.
        }
    }

    /// <summary>At the loop's stop: a commit waiting for it goes on.</summary>
    private void ReleaseJudgedWaiter() => Interlocked.Exchange(ref _waiter, null)?.Reached.TrySetResult();
}

using System.Runtime.CompilerServices;
using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Alerting.Hosting;

/// <summary>
/// The alert loop's batching window (<see cref="AlertingOptions.ObserveBatchWindow"/>): at paced
/// rates a reader waiting on the queue is woken by every reading; waiting out a short window after
/// the first one instead lets the readings of the window gather and run in one wake-up.
/// </summary>
public sealed partial class AlertingService
{
    private readonly TimeSpan _batchWindow;
    private TaskCompletionSource? _windowEnd;
    private int _urgent;

    /// <summary>
    /// The clock of the batching window only: a CPU-scheduling delay, not device or alert time, so
    /// a test that drives the engine's clock (<c>TimeProvider</c>) does not also hold the loop; unit
    /// tests of the window set their own.
    /// </summary>
    internal TimeProvider BatchClock { get; set; } = TimeProvider.System;

    /// <summary>A quarter-full queue ends the window: a burst is not held back.</summary>
    private static int EarlyBatch => QueueCapacity / 4;

    private ValueTask EnqueueObservationAsync(Point reading, string profileId, CancellationToken cancellationToken)
    {
        var work = new WorkItem(null, Reading: reading, ProfileId: profileId);
        return TryWriteStamped(work) ? ValueTask.CompletedTask : WriteStampedAsync(work, cancellationToken);
    }

    /// <summary>Something other than a reading is queued (an operator, a birth or last will, the timer): run now.</summary>
    private void EndWindow()
    {
        // Full fences (Interlocked) on both sides: the loop publishes its window, then reads this flag.
        Interlocked.Exchange(ref _urgent, 1);
        Volatile.Read(ref _windowEnd)?.TrySetResult();
    }

    /// <summary>The queue's items in order, each time a batch has gathered (or at once with no window).</summary>
    private async IAsyncEnumerable<WorkItem> ReadBatchedAsync([EnumeratorCancellation] CancellationToken stoppingToken)
    {
        while (await _work.Reader.WaitToReadAsync(stoppingToken).ConfigureAwait(false))
        {
            await GatherAsync(stoppingToken).ConfigureAwait(false);
            Volatile.Write(ref _urgent, 0);
            while (_work.Reader.TryRead(out var item))
            {
                yield return item;
            }
        }
    }

    private async Task GatherAsync(CancellationToken stoppingToken)
    {
        if (_batchWindow <= TimeSpan.Zero || Volatile.Read(ref _urgent) == 1 || _work.Reader.Count >= EarlyBatch)
        {
            return;
        }

        var end = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _windowEnd, end);
        // Checked again after publishing the signal: a request queued in between saw none to set.
        if (Volatile.Read(ref _urgent) == 0)
        {
            using var stop = stoppingToken.Register(static e => ((TaskCompletionSource)e!).TrySetResult(), end);
            await Task.WhenAny(Task.Delay(_batchWindow, BatchClock, CancellationToken.None), end.Task).ConfigureAwait(false);
        }

        Volatile.Write(ref _windowEnd, null);
    }
}

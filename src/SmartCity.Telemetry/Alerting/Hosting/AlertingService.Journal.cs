using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.Hosting;

/// <summary>
/// Crash durability of the alert state (<see cref="AlertJournal"/>): the loop journals each item's
/// transitions as soon as the engine made them; the spool's commit waits for the loop to reach what
/// the message path queued before it (<see cref="JudgedAsync"/>), then makes the journal durable before it
/// acknowledges the readings. Transitions are then stored and notified by a loop of their own
/// (<see cref="StartPublishing"/>): the alert loop must never wait for the spool, since the spool's
/// commit waits for the alert loop.
/// </summary>
public sealed partial class AlertingService
{
    private const int LoopNotStarted = 0, LoopRunning = 1, LoopEnded = 2;

    // Unbounded, yet short: the transitions come from readings that themselves wait for the spool, through the same queue.
    private readonly Channel<IReadOnlyList<AlertTransition>> _published = Channel.CreateUnbounded<IReadOnlyList<AlertTransition>>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _loopEnded = new();
    private AlertJournal? _journal;
    private DiskHealth? _disk;
    private int _loopState;

    /// <summary>Called on the loop when an item made transitions, before they are journaled: a test holds the loop there.</summary>
    internal Action? BeforeJournal { get; set; }

    private void UseJournal(AlertJournal? journal, DiskHealth disk)
    {
        if (journal is null)
        {
            return;
        }

        _journal = journal;
        _disk = disk;
        var (applied, skipped) = _engine.Replay(journal);
        if (applied + skipped > 0)
        {
            LogJournalReplayed(journal.Path, applied, skipped);
            // The replayed transitions go into the file at the next save, which deletes the journals.
            _saver.Request();
        }

        journal.WaitFor(JudgedAsync);
    }

    /// <summary>
    /// Completes once the loop has run every item queued before this call (and journaled its
    /// transitions): a marker through the same queue, as an operator request goes, so it also ends
    /// a batching wait at once. For an operator's action, rare; a spool commit waits on <see cref="JudgedAsync"/>. Returns at once when the loop is not running: nothing is judged then.
    /// </summary>
    private async ValueTask CaughtUpAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _loopState) != LoopRunning)
        {
            return;
        }

        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _loopEnded.Token);
        try
        {
            await RunAsync(static () => true, either.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_loopEnded.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // The loop stopped meanwhile: its state is saved whole at its stop.
        }
    }

    /// <summary>An operator's action is no message riding a spool commit: its journal entry is made durable before the answer.</summary>
    private async Task<AlertOperationResult> OperateDurablyAsync(Func<AlertOperationResult> operation, CancellationToken cancellationToken)
    {
        var result = await OperateAsync(operation, cancellationToken).ConfigureAwait(false);
        if (result.Transition is not null && _journal is { } journal)
        {
            // The loop journals the transition after the operation returns: wait for it to have done so.
            await CaughtUpAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                journal.MakeDurable(fsync: true);
            }
            catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
            {
                // Still buffered: the next spool commit or state save writes it; /healthz shows the disk meanwhile.
                _disk!.Failed(journal.Name, journal.Path, ex, _time.GetUtcNow());
                LogJournalWriteFailed(journal.Path, DiskHealth.Describe(ex));
            }
        }

        return result;
    }

    /// <summary>On the loop: journaled at once (memory already changed, as a save's rotation needs), stored and notified later.</summary>
    private void Published(IReadOnlyList<AlertTransition> transitions)
    {
        BeforeJournal?.Invoke();
        if (_journal is { } journal)
        {
            _engine.Journal(transitions, journal);
        }

        _published.Writer.TryWrite(transitions);
    }

    private Task StartPublishing(CancellationToken stoppingToken)
    {
        Volatile.Write(ref _loopState, LoopRunning);
        return Task.Run(() => PublishLoopAsync(stoppingToken), CancellationToken.None);
    }

    private async Task StopPublishingAsync(Task publisher)
    {
        Volatile.Write(ref _loopState, LoopEnded);
        ReleaseJudgedWaiter();
        await _loopEnded.CancelAsync().ConfigureAwait(false);
        _published.Writer.TryComplete();
        await publisher.ConfigureAwait(false);
    }

    private async Task PublishLoopAsync(CancellationToken stoppingToken)
    {
        // Read to the end even when stopping: what the loop judged is at least logged and offered to the notifiers.
        await foreach (var transitions in _published.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                await PublishAsync(transitions, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                // Stopping: not stored, as before when the loop itself stopped with them.
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _failedItems);
                LogItemFailed(ex);
            }
        }
    }

    [LoggerMessage(EventId = 6008, Level = LogLevel.Information, Message = "Alert state journals replayed (next: {Path}): {Applied} transitions applied, {Skipped} unreadable lines skipped (a line torn by a crash was never acknowledged)")]
    private partial void LogJournalReplayed(string path, int applied, int skipped);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Error, Message = "Alert state journal {Path} cannot be written ({Problem}); retried at the next commit or save")]
    private partial void LogJournalWriteFailed(string path, string problem);
}

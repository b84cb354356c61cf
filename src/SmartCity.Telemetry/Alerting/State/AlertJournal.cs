using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Buffering;

namespace SmartCity.Telemetry.Alerting.State;

/// <summary>
/// The alert state's journal (<c>alerts.json.journal.N</c>, beside <see cref="AlertingOptions.StateFile"/>):
/// every transition as one line, the alert as it now is and its rule's state, so an alert raised less
/// than <see cref="AlertingOptions.StateSaveDelay"/> before a crash is not forgotten and raised again
/// under a new id. The spool makes it durable in the group commit of the readings that caused the
/// transitions, before their acknowledgements (<see cref="ISpoolCommitParticipant"/>); since the engine
/// judges readings on its own thread, behind a queue, the commit first waits until it has judged every
/// reading queued so far (<see cref="AppendedAsync"/>). Operator actions are made durable at once by the
/// alerting service. A start loads the state file, then replays the journals; each save rotates them
/// (<see cref="CommitJournal"/>, the registry's file logic).
/// </summary>
public sealed class AlertJournal : ISpoolCommitParticipant, IDisposable
{
    private readonly string _statePath;
    private readonly CommitJournal _journal;
    private Func<CancellationToken, ValueTask>? _caughtUp;
    private long _linesSkipped;

    public AlertJournal(IOptions<AlertingOptions> options)
        : this(options.Value.StateFile)
    {
    }

    internal AlertJournal(string stateFile)
    {
        _statePath = System.IO.Path.GetFullPath(stateFile);
        // After every journal a previous run left: those are replayed, never appended to.
        var existing = CommitJournal.Existing(_statePath);
        _journal = new CommitJournal(_statePath, existing.Count == 0 ? 1 : existing[^1].Sequence + 1);
    }

    public string Name => "alert state journal";

    public string Path => _journal.CurrentPath;

    /// <summary>Journal lines that could not be read at start (a line torn by a crash mid-write), skipped.</summary>
    public long LinesSkipped => Interlocked.Read(ref _linesSkipped);

    /// <summary>The alerting service: a commit waits until its engine has judged what was queued (none: nothing to wait for).</summary>
    internal void WaitFor(Func<CancellationToken, ValueTask> caughtUp) => _caughtUp = caughtUp;

    public ValueTask AppendedAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _caughtUp)?.Invoke(cancellationToken) ?? ValueTask.CompletedTask;

    public void MakeDurable(bool fsync) => _journal.MakeDurable(fsync);

    /// <summary>An alert as it is after a transition, with its rule's state (null when it has none). Only fills a buffer.</summary>
    internal void Put(Alert alert, RuleAlertState? rule) =>
        _journal.Append((alert, rule), static (w, e) => JsonSerializer.Serialize(w, new Line(e.alert, e.rule, null), AlertStore.Json));

    /// <summary>A resolved alert forgotten (kept longer than <see cref="AlertingOptions.KeepResolvedFor"/>).</summary>
    internal void Remove(string alertId) =>
        _journal.Append(alertId, static (w, id) => JsonSerializer.Serialize(w, new Line(null, null, id), AlertStore.Json));

    /// <summary>Before a save's snapshot: see <see cref="CommitJournal.Rotate"/>.</summary>
    internal long Rotate() => _journal.Rotate();

    /// <summary>After the save is in place.</summary>
    internal void DeleteThrough(long sequence) => _journal.DeleteThrough(sequence);

    /// <summary>
    /// At start, after the state file is loaded: each line applied in order through <paramref name="put"/>
    /// and <paramref name="remove"/>. Returns the number of lines applied and skipped.
    /// </summary>
    internal (int Applied, int Skipped) Replay(Action<Alert, RuleAlertState?> put, Action<string> remove)
    {
        int applied = 0, skipped = 0;
        CommitJournal.Replay(
            _statePath,
            line =>
            {
                switch (JsonSerializer.Deserialize<Line>(line, AlertStore.Json))
                {
                    case { Alert: { } alert } l:
                        put(alert, l.Rule);
                        break;
                    case { Removed: { } id }:
                        remove(id);
                        break;
                    default:
                        throw new InvalidDataException("not an alert journal entry");
                }
            },
            (_, a, s) =>
            {
                applied += a;
                skipped += s;
            });
        Interlocked.Add(ref _linesSkipped, skipped);
        return (applied, skipped);
    }

    public void Dispose() => _journal.Dispose();

    private sealed record Line(Alert? Alert, RuleAlertState? Rule, string? Removed);
}

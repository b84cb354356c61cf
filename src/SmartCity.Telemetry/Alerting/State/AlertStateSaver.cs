using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.State;

/// <summary>
/// Writes the alert state file for the host, debounced and off the alert thread. Saving on every
/// transition serialised all alerts and rule states and flushed them to disk inside the engine
/// lock, on the thread the MQTT handler waits for: a burst of n transitions cost O(n^2) bytes and
/// held back ingestion. Now the first change arms a timer of <see cref="AlertingOptions.StateSaveDelay"/>;
/// every change until it fires goes into the same save, whose snapshot is copied under the engine
/// lock and serialised and written here, one save at a time. The transitions of the delay are in the
/// journal meanwhile (<see cref="AlertJournal"/>, rotated by each save), so a crash loses no transition
/// of an acknowledged reading; <see cref="StopAsync"/> saves the latest state.
/// A failed write (disk full, I/O error, read-only, permission) is a state, not a crash: logged
/// Critical once per episode, counted, shown in /healthz (<see cref="SaveHealth"/>, as the periodic savers), and
/// retried; the alert loop never waits for it.
/// </summary>
internal sealed partial class AlertStateSaver : IDisposable
{
    public const string DiskComponent = "alert state";

    /// <summary>While saves fail, how often they are tried again (a change does not bring it forward).</summary>
    internal static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(10);

    private readonly IAlertStateSource _engine;
    private readonly AlertStore _store;
    private readonly TimeSpan _delay;
    private readonly SaveHealth _health;
    private readonly ILogger _logger;
    private readonly AlertJournal? _journal;
    private readonly ITimer _timer;
    private readonly Channel<bool> _due = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _gate = new();
    // One save at a time: the debounced loop, the save at stop, and a backup's save-and-read.
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly Task _loop;
    private bool _armed;
    private bool _failing;
    private bool _stopping;
    private long _saves;

    public AlertStateSaver(IAlertStateSource engine, AlertStore store, TimeSpan delay, TimeProvider time, DiskHealth disk, ILogger logger, AlertJournal? journal = null)
    {
        _journal = journal;
        _engine = engine;
        _store = store;
        _delay = delay;
        _health = new SaveHealth(DiskComponent, disk, time);
        _logger = logger;
        _timer = time.CreateTimer(_ => _due.Writer.TryWrite(true), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        // The one writer: a save never overlaps another. Owned here and awaited in StopAsync.
        _loop = Task.Run(LoopAsync);
        engine.SaveThrough(this);
    }

    /// <summary>Saves written.</summary>
    public long Saves => Interlocked.Read(ref _saves);

    /// <summary>Saves that failed (disk full, I/O error, permission), retries included.</summary>
    public long Failures => _health.Failures;

    /// <summary>
    /// Something changed (called under the engine lock, so cheap): a save within the delay. Changes
    /// while a timer is armed ride along with it, so the first change's wait bounds them all.
    /// </summary>
    public void Request() => Arm(_delay);

    private void Arm(TimeSpan delay)
    {
        lock (_gate)
        {
            if (_armed || _stopping)
            {
                return;
            }

            _armed = true;
            _timer.Change(_failing ? RetryDelay : delay, Timeout.InfiniteTimeSpan);
        }
    }

    private async Task LoopAsync()
    {
        await foreach (var _ in _due.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            lock (_gate)
            {
                // Changes from here on arm the next save; the snapshot below holds every one before.
                _armed = false;
            }

            await _writing.WaitAsync().ConfigureAwait(false);
            try
            {
                TrySave(allDevices: false);
            }
            finally
            {
                _writing.Release();
            }
        }
    }

    /// <summary>
    /// For a backup while the worker runs: saves the latest state (all devices), then reads the state
    /// files, with no other save in between, so both files are of this moment and of each other.
    /// </summary>
    public async Task<IReadOnlyList<(string Path, byte[] Content)>> SaveAndReadAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!TrySave(allDevices: true))
            {
                throw new IOException($"the alert state could not be saved to {_store.Path} (see the log); no backup of it was taken");
            }

            return [.. new[] { _store.Path, _store.DevicesPath }.Where(File.Exists).Select(p => (p, File.ReadAllBytes(p)))];
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Stops the timer, lets a save in progress finish, then saves the latest state (all devices included). False when that failed.</summary>
    public async Task<bool> StopAsync()
    {
        lock (_gate)
        {
            _stopping = true;
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        _due.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
        await _writing.WaitAsync().ConfigureAwait(false);
        try
        {
            return TrySave(allDevices: true);
        }
        finally
        {
            _writing.Release();
        }
    }

    private bool TrySave(bool allDevices)
    {
        AlertEngineSnapshot? snapshot = null;
        try
        {
            // Rotated before the snapshot: what the closed journals hold is in memory already, so in the file.
            var closed = _journal?.Rotate();
            snapshot = _engine.TakeSnapshot(allDevices);
            if (snapshot is null)
            {
                return true;   // the closed journals go after the next save that writes something
            }

            _store.Save(snapshot);
            JournalSaved(closed);
        }
        catch (Exception ex)
        {
            // Any failure, not only I/O: an exception out of this loop would end saving for good, silently.
            if (snapshot is not null)
            {
                _engine.SaveFailed(snapshot);
            }

            lock (_gate)
            {
                _failing = true;
            }

            Arm(RetryDelay);   // before the count, so whoever sees the count sees the retry armed
            if (_health.Failed(_store.Path, ex))
            {
                var problem = DiskHealth.Describe(ex);
                LogSaveFailing(_store.Path, problem, RetryDelay.TotalSeconds, ex);
            }
            else
            {
                LogSaveStillFailing(_store.Path, ex);
            }

            return false;
        }

        Interlocked.Increment(ref _saves);
        lock (_gate)
        {
            _failing = false;
        }

        if (_health.Succeeded())
        {
            LogSaveRecovered(_store.Path);
        }

        return true;
    }

    /// <summary>The file in place holds all the journals up to <paramref name="closed"/> said: they go.</summary>
    private void JournalSaved(long? closed)
    {
        if (closed is { } sequence)
        {
            _journal!.DeleteThrough(sequence);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _stopping = true;
        }

        _due.Writer.TryComplete();
        _timer.Dispose();
        _writing.Dispose();
    }

    [LoggerMessage(EventId = 6004, Level = LogLevel.Critical, Message = "Alert state cannot be saved to {Path} ({Problem}); alerting goes on in memory, the save is retried every {RetrySeconds} s (a crash now would lose the changes since the last save)")]
    private partial void LogSaveFailing(string path, string problem, double retrySeconds, Exception error);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Warning, Message = "Alert state save to {Path} failed again; retrying")]
    private partial void LogSaveStillFailing(string path, Exception error);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Information, Message = "Alert state saved to {Path} again")]
    private partial void LogSaveRecovered(string path);
}

using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>The registry's save loop: a failed save is a state (logged, counted, in /healthz) and retried, never the end of the worker.</summary>
public sealed partial class DeviceRegistry
{
    private const string DiskComponent = "device registry";

    /// <summary>Saves that failed (disk full, I/O error, permission), retries included.</summary>
    public long SaveFailures => Interlocked.Read(ref _saveFailures);

    private long _saveFailures;

    /// <summary>Writes the registry at most once per <see cref="RegistryOptions.SaveInterval"/> while it changes, and once more at stop.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.SaveInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                TrySave();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        TrySave();
    }

    public override void Dispose()
    {
        _journal.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// Saves, and turns a recoverable I/O failure into a state: one IOException (disk full, permission)
    /// used to end this hosted service and with it the worker. The registry stays dirty, so the next tick retries.
    /// </summary>
    private void TrySave()
    {
        var path = Path.GetFullPath(_options.File);
        try
        {
            Save();
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            Interlocked.Increment(ref _saveFailures);
            if (_disk.Failed(DiskComponent, path, ex, _time.GetUtcNow()))
            {
                var problem = DiskHealth.Describe(ex);
                LogSaveFailing(path, problem, ex);
            }
            else
            {
                LogSaveStillFailing(path, ex.Message);
            }

            return;
        }

        if (_disk.Recovered(DiskComponent))
        {
            LogSaveRecovered(path);
        }
    }

    /// <summary>
    /// Writes the registry now if it changed: streamed to a temporary file, flushed to disk, then
    /// renamed over the old one, so a crash leaves either the old file or the new one, never half a file.
    /// The journal is rotated before the snapshot and the closed journals deleted after the rename
    /// (see <see cref="Buffering.CommitJournal"/> for why that order loses no entry that races with the save).
    /// </summary>
    public void Save()
    {
        lock (_saveLock)
        {
            if (Interlocked.Exchange(ref _dirty, 0) == 0)
            {
                return;
            }

            var path = Path.GetFullPath(_options.File);
            var temp = path + ".tmp";
            try
            {
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                var closed = _journal.Rotate();
                using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1 << 16))
                {
                    WriteSorted(file);
                    file.Flush(flushToDisk: true);
                }

                File.Move(temp, path, overwrite: true);
                SnapshotWritten?.Invoke();
                _journal.DeleteThrough(closed);
            }
            catch
            {
                // Not saved: the next tick (or the stop) tries again. A half-written temporary file
                // would hold the very space a full disk lacks.
                Interlocked.Exchange(ref _dirty, 1);
                TryDelete(temp);
                throw;
            }
        }
    }

    /// <summary>
    /// For a backup while the worker runs: saves what changed, then reads the file, both under the save
    /// lock, so the bytes are the registry of this moment and no save replaces the file mid-read.
    /// Null when there is nothing saved (no device yet).
    /// </summary>
    public byte[]? SaveAndRead()
    {
        lock (_saveLock)
        {
            Save();
            var path = Path.GetFullPath(_options.File);
            return File.Exists(path) ? File.ReadAllBytes(path) : null;
        }
    }

    /// <summary>The registry file's full path (where a backup restores it to).</summary>
    public string FilePath => Path.GetFullPath(_options.File);

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            // Left for the next save to overwrite.
        }
    }

    [LoggerMessage(EventId = 5003, Level = LogLevel.Critical, Message = "Device registry cannot be saved to {Path} ({Problem}); devices stay registered in memory, the save is retried every interval")]
    private partial void LogSaveFailing(string path, string problem, Exception error);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Device registry save to {Path} failed again ({Error}); retrying")]
    private partial void LogSaveStillFailing(string path, string error);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Device registry saved to {Path} again")]
    private partial void LogSaveRecovered(string path);
}

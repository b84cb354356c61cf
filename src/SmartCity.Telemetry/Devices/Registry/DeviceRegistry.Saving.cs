using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>The registry's saves (the loop is <see cref="PeriodicSaver"/>'s): a failed save is a state (logged, counted, in /healthz) and retried, never the end of the worker.</summary>
public sealed partial class DeviceRegistry
{
    private const string DiskComponent = "device registry";

    public override void Dispose()
    {
        _journal.Dispose();
        base.Dispose();
    }

    protected override string SavedPath => FilePath;

    /// <summary>The loop's save (see <see cref="PeriodicSaver"/>): the registry stays dirty when it fails, so the next tick retries.</summary>
    protected override void SaveIfChanged() => Save();

    protected override void OnSaveFailed(Exception failure, bool episodeStarted)
    {
        if (episodeStarted)
        {
            var problem = DiskHealth.Describe(failure);
            LogSaveFailing(SavedPath, problem, failure);
        }
        else
        {
            LogSaveStillFailing(SavedPath, failure.Message);
        }
    }

    protected override void OnSaveRecovered() => LogSaveRecovered(SavedPath);

    /// <summary>
    /// Writes the registry now if it changed, streamed through <see cref="StateFile.Replace(string, Action{Stream}, UnixFileMode?)"/>
    /// (temporary file, fsync, rename, directory fsync), so a crash leaves either the old file or the new one, never half a file.
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

            try
            {
                var closed = _journal.Rotate();
                StateFile.Replace(FilePath, WriteSorted);
                SnapshotWritten?.Invoke();
                _journal.DeleteThrough(closed);
            }
            catch
            {
                // Not saved: the next tick (or the stop) tries again.
                Interlocked.Exchange(ref _dirty, 1);
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

    [LoggerMessage(EventId = 5003, Level = LogLevel.Critical, Message = "Device registry cannot be saved to {Path} ({Problem}); devices stay registered in memory, the save is retried every interval")]
    private partial void LogSaveFailing(string path, string problem, Exception error);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Device registry save to {Path} failed again ({Error}); retrying")]
    private partial void LogSaveStillFailing(string path, string error);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Device registry saved to {Path} again")]
    private partial void LogSaveRecovered(string path);
}

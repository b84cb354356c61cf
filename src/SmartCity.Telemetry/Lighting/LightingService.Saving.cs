using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// The tick's save, with its fsyncs outside <see cref="_gate"/>. Every street-light reading takes that lock on the
/// ingest path (energy, confirmation), and the save of a city's lamps (energy once a minute, or what changed) kept it
/// through two fsyncs, hundreds of milliseconds on a busy disk: every message waited behind it, a stall that set the
/// device-to-stored tail (docs/performance.md, branch wt-tail). Now the snapshot is written to the temporary file
/// under the lock, as consistent as before, and flushed, renamed and its directory synced after it.
/// </summary>
public sealed partial class LightingService
{
    /// <summary>
    /// One save of the file at a time (its temporary file has one name). Taken inside <see cref="_gate"/>, never the
    /// other way round: the tick's save keeps it after leaving the gate, and a save under the gate (a command's) waits
    /// for that one's commit.
    /// </summary>
    private readonly Lock _saving = new();

    /// <summary>The state file's writer (a test holds its directory fsync, as a busy disk does).</summary>
    internal LightingStateFile StateFileWriter => _file;

    /// <summary>Saves when something changed, or the energy once per <see cref="EnergySaveInterval"/>; a failed save is tried again at the next tick.</summary>
    private void SaveIfDue()
    {
        var written = WriteSnapshotIfDue();
        if (written is null)
        {
            return;
        }

        var saved = false;
        try
        {
            written.Commit(_file.SyncDirectory);
            saved = true;
        }
        catch (IOException ex)
        {
            LogSaveFailed(_file.Path, ex.Message);
        }
        finally
        {
            written.Dispose();
            _saving.Exit();
        }

        if (!saved)
        {
            lock (_gate)
            {
                // Memory is ahead of the file: the next tick saves whatever changed.
                _dirty = true;
            }
        }
    }

    /// <summary>Under the gate: the snapshot in the temporary file, returned with <see cref="_saving"/> held (null, and not held, when nothing is due or it failed).</summary>
    private StateFile.Written? WriteSnapshotIfDue()
    {
        lock (_gate)
        {
            if (!_dirty && !(_energyDirty && _time.GetUtcNow() - _savedAt >= EnergySaveInterval))
            {
                return null;
            }

            _saving.Enter();
            try
            {
                var written = _file.Write(_state, _lamps);
                MarkSavedLocked();
                return written;
            }
            catch (IOException ex)
            {
                _saving.Exit();
                LogSaveFailed(_file.Path, ex.Message);
                return null;
            }
        }
    }
}

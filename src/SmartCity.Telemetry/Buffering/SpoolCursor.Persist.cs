using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// A commit on disk: the cursor's file first, then the segments every cursor's file has passed are
/// deleted. In that order, so a crash (or a failure) in between leaves a segment to delete at the
/// next start, never a cursor pointing into a deleted one. An I/O error here (EIO, read-only
/// remount, permission) used to escape to the sink and stop the worker; it is a state now: what was
/// stored stays committed in memory, /healthz shows it, the next commit tries again, and at worst a
/// restart stores some records again.
/// </summary>
public sealed partial class SpoolCursor
{
    private const string CommitComponent = "spool commit";

    /// <summary>The component in <see cref="DiskHealth"/>: the default cursor's keeps the plain name.</summary>
    private string CommitComponentName => Name == DurableSpool.DefaultCursorName ? CommitComponent : CommitComponent + " " + Name;

    private void PersistCommit(SpoolPosition position)
    {
        try
        {
            _file!.Write(position);
            lock (_ledger.Lock)
            {
                _persisted = position;
                _ledger.ReleasePassedLocked();
            }

            _ledger.DeleteReleased();
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            if (_disk.Failed(CommitComponentName, _ledger.Directory, ex, _time.GetUtcNow()))
            {
                var problem = DiskHealth.Describe(ex);
                LogCommitFailing(_ledger.Directory, problem, ex);
            }

            return;
        }

        if (_disk.Recovered(CommitComponentName))
        {
            LogCommitWritable(_ledger.Directory);
        }
    }

    [LoggerMessage(EventId = 3012, Level = LogLevel.Critical, Message = "Spool cannot record what storage has stored under {Path} ({Problem}): consumed segments stay on disk and the next commit tries again; a restart meanwhile stores some records again (harmless)")]
    private partial void LogCommitFailing(string path, string problem, Exception error);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning, Message = "Spool records what storage has stored under {Path} again")]
    private partial void LogCommitWritable(string path);
}

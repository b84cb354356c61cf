using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// A full disk (ENOSPC), an I/O error or a read-only remount under the spool is a state, not a crash:
/// the failed append is cut off the segment, nothing of it is acknowledged, and the committer waits
/// (so intake pauses: the MQTT handler waits on the bounded queue and the broker keeps the messages
/// unacknowledged, as with Spool:MaxBytes) and retries when storage freed space or after a pause.
/// </summary>
internal sealed partial class SpoolWriter
{
    private const string DiskComponent = "spool";

    /// <summary>How long a failed append waits before trying again when no commit freed space meanwhile.</summary>
    private static readonly TimeSpan DiskRetry = TimeSpan.FromSeconds(1);

    private readonly DiskHealth _disk;
    private volatile bool _diskFull;

    /// <summary>Set by a failed append: the next one goes into a new segment (the writer's loop only).</summary>
    private bool _startNewSegment;

    /// <summary>True while appends fail for lack of space or an I/O error; intake waits meanwhile.</summary>
    public bool IsDiskFull => _diskFull;

    private async Task WriteDurablyAsync(SpoolCommitBuffer bytes, int records, long oldestTicks, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task space;
            lock (_ledger.Lock)
            {
                space = _ledger.SpacePulseLocked;
            }

            try
            {
                if (_writeStream is null)
                {
                    ReopenTail();
                }

                WriteDurably(bytes, records, oldestTicks);
                if (_disk.Recovered(DiskComponent))
                {
                    _diskFull = false;
                    LogDiskWritable(_ledger.Directory);
                }

                return;
            }
            catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
            {
                RepairTail();
                // A segment is deleted whole, and only once every cursor has passed into a later one.
                // When the one being written holds the whole disk (Spool:SegmentBytes at least the
                // free space: the default 16 MiB on a small volume), storage could drain all of it and
                // free nothing, and intake stalled for good. So the retry starts a new segment, an
                // empty file: once every cursor has everything before it, the full one is deleted.
                _startNewSegment = true;
                // The problem is recorded before the flag is raised: whoever sees the spool full
                // (the health check, a test waiting on the flag) then also finds why.
                _metrics.SpoolStage.Error("disk");
                var firstOfEpisode = _disk.Failed(DiskComponent, _ledger.Directory, ex, _time.GetUtcNow());
                _diskFull = true;
                if (firstOfEpisode)
                {
                    var problem = DiskHealth.Describe(ex);
                    LogDiskFailing(_ledger.Directory, problem, ex);
                }
            }

            await Task.WhenAny(space, Task.Delay(DiskRetry, _time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    /// <summary>
    /// Drops the stream that failed and a segment that a failed roll left behind; <see cref="ReopenTail"/>
    /// then cuts what part of the failed append reached the segment, so the spool ends at its last durable record.
    /// </summary>
    private void RepairTail()
    {
        TryDispose(_writeStream);
        _writeStream = null;
        try
        {
            var next = _ledger.SegmentPath(_ledger.DurableEnd.Segment + 1);
            if (File.Exists(next))
            {
                File.Delete(next);
            }
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            // Tried again before the next append: ReopenTail's roll would find it.
        }
    }

    // Shrinking a file needs no space, so this works on a full disk.
    private void ReopenTail()
    {
        var end = _ledger.DurableEnd;
        var stream = new FileStream(_ledger.SegmentPath(end.Segment), FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        try
        {
            stream.SetLength(end.Offset);
            stream.Position = end.Offset;
        }
        catch
        {
            TryDispose(stream);
            throw;
        }

        _writeStream = stream;
    }

    private static void TryDispose(FileStream? stream)
    {
        try
        {
            stream?.Dispose();
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            // The data it held was not acknowledged; the tail is cut right after.
        }
    }

    [LoggerMessage(EventId = 3010, Level = LogLevel.Critical, Message = "Spool cannot write under {Path} ({Problem}): the worker stops taking messages from the broker (they wait unacknowledged) and retries as storage drains the spool")]
    private partial void LogDiskFailing(string path, string problem, Exception error);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "Spool writes under {Path} again: taking messages from the broker")]
    private partial void LogDiskWritable(string path);
}

using Microsoft.Extensions.Logging;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// Opening the spool after a stop or a crash: segments every cursor had passed are deleted, the last
/// segment is checked record by record (CRC) and a torn write at its tail is cut back, and each cursor
/// resumes where it committed, knowing how much it has left to read.
/// </summary>
internal static partial class SpoolRecovery
{
    /// <summary>Recovers the folder into <paramref name="ledger"/> and its cursors; returns the stream to append to.</summary>
    public static FileStream Open(SpoolLedger ledger, ILogger logger)
    {
        System.IO.Directory.CreateDirectory(ledger.Directory);
        var cursors = ledger.Cursors;
        var ids = ledger.ListSegments();
        var positions = cursors.Select(c => c.OpenFile() ?? new SpoolPosition(ids.Count > 0 ? ids[0] : 1, 0)).ToArray();
        var slowest = positions.Min();
        foreach (var id in ids.Where(id => id < slowest.Segment).ToList())
        {
            File.Delete(ledger.SegmentPath(id)); // consumed before a crash, not yet deleted
            ids.Remove(id);
        }

        if (ids.Count == 0)
        {
            var start = new SpoolPosition(Math.Max(positions.Max().Segment, 1), 0);
            var stream = ledger.CreateSegment(start.Segment);
            foreach (var cursor in cursors)
            {
                cursor.Start(start, 0, 0, persist: true);
            }

            return stream;
        }

        var segments = new SortedDictionary<long, long>(ids.ToDictionary(id => id, id => new FileInfo(ledger.SegmentPath(id)).Length));
        var last = ids[^1];
        var validEnd = CutTornTail(ledger, last, segments[last], logger);
        segments[last] = validEnd;
        ledger.Recovered(segments, new SpoolPosition(last, validEnd));
        var tail = new FileStream(ledger.SegmentPath(last), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);

        long mostPending = 0;
        for (var i = 0; i < cursors.Count; i++)
        {
            var position = OnSegmentLeft(positions[i], segments, ids);
            // Count what is left to store, so depth and age are right from the first second.
            var (pending, oldest) = CountFrom(ledger, ids, position);
            cursors[i].Start(position, pending, oldest, persist: false);
            mostPending = Math.Max(mostPending, pending);
        }

        if (mostPending > 0)
        {
            LogRecovered(logger, mostPending, ledger.BytesOnDisk);
        }

        return tail;
    }

    /// <summary>A cursor on a segment no longer there (or past its end) moves to the next one that is.</summary>
    private static SpoolPosition OnSegmentLeft(SpoolPosition position, SortedDictionary<long, long> segments, List<long> ids)
    {
        if (!segments.TryGetValue(position.Segment, out var length))
        {
            // The cursor's segment is gone: deleted, and then a power loss kept an older cursor (it
            // is not fsynced on every commit). Its offset means nothing in the next segment, where it
            // skipped records never stored; all of the next segment left is stored again instead.
            return new SpoolPosition(ids.FirstOrDefault(id => id >= position.Segment, ids[0]), 0);
        }

        return position.Offset > length ? position with { Offset = length } : position;
    }

    /// <summary>Only the last segment can end in a torn write: cut it back to its last intact record.</summary>
    private static long CutTornTail(SpoolLedger ledger, long segment, long length, ILogger logger)
    {
        var validEnd = ScanValidEnd(ledger.SegmentPath(segment), out _, out _);
        if (validEnd < length)
        {
            LogTornTail(logger, segment, length - validEnd);
            using var truncate = new FileStream(ledger.SegmentPath(segment), FileMode.Open, FileAccess.Write);
            truncate.SetLength(validEnd);
        }

        return validEnd;
    }

    private static (long Records, long OldestTicks) CountFrom(SpoolLedger ledger, List<long> ids, SpoolPosition from)
    {
        long records = 0;
        long oldest = 0;
        foreach (var id in ids.Where(id => id >= from.Segment))
        {
            ScanValidEnd(ledger.SegmentPath(id), out var count, out var firstTicks, id == from.Segment ? from.Offset : 0);
            records += count;
            oldest = oldest == 0 ? firstTicks : oldest;
        }

        return (records, oldest);
    }

    /// <summary>Where the intact records of a segment end (from <paramref name="from"/>), how many there are and the first one's time.</summary>
    public static long ScanValidEnd(string path, out long records, out long firstTicks, long from = 0)
    {
        records = 0;
        firstTicks = 0;
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var header = new byte[SpoolRecord.HeaderSize];
        var position = from;
        stream.Position = from;
        while (ReadExactly(stream, header) && SpoolRecord.TryReadHeader(header, out var length, out _, out var ticks))
        {
            var record = new byte[SpoolRecord.HeaderSize + length];
            header.CopyTo(record, 0);
            if (!ReadExactly(stream, record.AsSpan(SpoolRecord.HeaderSize)) || !SpoolRecord.IsIntact(record, length))
            {
                break;
            }

            records++;
            firstTicks = firstTicks == 0 ? ticks : firstTicks;
            position += record.Length;
        }

        return position;
    }

    /// <summary>False at the end of the stream (a torn or short record), instead of an exception.</summary>
    public static bool ReadExactly(Stream stream, Span<byte> buffer)
    {
        try
        {
            stream.ReadExactly(buffer);
            return true;
        }
        catch (EndOfStreamException)
        {
            return false;
        }
    }

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Spool segment {Segment} ended in a torn write ({Bytes} bytes after the last intact record, never acknowledged); cut back")]
    private static partial void LogTornTail(ILogger logger, long segment, long bytes);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Spool recovered {Records} records ({Bytes} bytes) not yet stored; writing them first")]
    private static partial void LogRecovered(ILogger logger, long records, long bytes);
}

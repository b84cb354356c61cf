using System.Globalization;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// What the spool holds: its segment files and their durable lengths, where the durable data ends,
/// the bytes on disk, and the named cursors reading it. A segment is deleted only once every cursor
/// has passed it. The writer and each cursor change this under <see cref="Lock"/>; the pulses wake
/// whoever waits for data (readers) or for space (the writer, and a drain).
/// </summary>
internal sealed class SpoolLedger(string directory)
{
    private const string SegmentSuffix = ".seg";

    private readonly SortedDictionary<long, long> _segments = []; // id -> durable length
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<long> _released = []; // taken out of _segments, not deleted yet (oldest first)
    private readonly object _deleting = new();
    private SpoolCursor[] _cursors = [];
    private TaskCompletionSource _dataPulse = NewPulse();
    private TaskCompletionSource _spacePulse = NewPulse();
    private SpoolPosition _durableEnd;
    private long _bytesOnDisk;

    public object Lock { get; } = new();

    public string Directory => Path.GetFullPath(directory);

    /// <summary>Every cursor, in the order they were added (the default one first).</summary>
    public IReadOnlyList<SpoolCursor> Cursors => Volatile.Read(ref _cursors);

    public long BytesOnDisk => Interlocked.Read(ref _bytesOnDisk);

    /// <summary>Completes when the writer has stopped: everything it will ever write is durable.</summary>
    public Task WriterDone => _writerDone.Task;

    public SpoolPosition DurableEnd
    {
        get
        {
            lock (Lock)
            {
                return _durableEnd;
            }
        }
    }

    // The members named *Locked are for callers already holding Lock (they check and take a pulse in one step).
    public SpoolPosition DurableEndLocked => _durableEnd;

    public long BytesOnDiskLocked => _bytesOnDisk;

    public Task DataPulseLocked => _dataPulse.Task;

    public Task SpacePulseLocked => _spacePulse.Task;

    /// <summary>No cursor has anything left to read and commit (one batch may then always go in, whatever its size).</summary>
    public bool NothingPendingLocked
    {
        get
        {
            foreach (var cursor in _cursors)
            {
                if (cursor.PendingLocked != 0)
                {
                    return false;
                }
            }

            return true;
        }
    }

    /// <summary>Every cursor has committed everything durable.</summary>
    public bool AllCommittedLocked
    {
        get
        {
            foreach (var cursor in _cursors)
            {
                if (cursor.CommittedLocked < _durableEnd)
                {
                    return false;
                }
            }

            return true;
        }
    }

    public void AddCursor(SpoolCursor cursor)
    {
        lock (Lock)
        {
            _cursors = [.. _cursors, cursor];
        }
    }

    /// <summary>What recovery found on disk: the segments (id, length) and where the durable data ends.</summary>
    public void Recovered(IEnumerable<KeyValuePair<long, long>> segments, SpoolPosition durableEnd)
    {
        lock (Lock)
        {
            foreach (var (id, length) in segments)
            {
                _segments[id] = length;
                _bytesOnDisk += length;
            }

            _durableEnd = durableEnd;
        }
    }

    /// <summary>Creates segment <paramref name="id"/> (empty) as the new tail and returns its append stream.</summary>
    public FileStream CreateSegment(long id)
    {
        var stream = new FileStream(SegmentPath(id), FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        lock (Lock)
        {
            _segments[id] = 0;
            _durableEnd = new SpoolPosition(id, 0);
            // A reader at the end of the previous segment may move on to this one (and so let that one
            // be deleted) before anything is written here: after a failed append nothing may be for a while.
            Pulse(ref _dataPulse);
        }

        return stream;
    }

    /// <summary>Records <paramref name="bytes"/> written durably at <paramref name="at"/>: every cursor has them to read.</summary>
    public void Appended(SpoolPosition at, int bytes, int records, long oldestTicks)
    {
        lock (Lock)
        {
            _durableEnd = at with { Offset = at.Offset + bytes };
            _segments[at.Segment] = _durableEnd.Offset;
            _bytesOnDisk += bytes;
            foreach (var cursor in _cursors)
            {
                cursor.AddPendingLocked(records, oldestTicks);
            }

            Pulse(ref _dataPulse);
        }
    }

    /// <summary>
    /// Takes out of the ledger the segments every cursor's file has passed (a cursor's file is written
    /// before the segments it passed are deleted, so no cursor on disk ever points into a deleted one);
    /// <see cref="DeleteReleased"/> deletes them outside the lock.
    /// </summary>
    public void ReleasePassedLocked()
    {
        var slowest = _cursors[0].PersistedLocked;
        foreach (var cursor in _cursors)
        {
            slowest = cursor.PersistedLocked < slowest ? cursor.PersistedLocked : slowest;
        }

        List<long> passed = [];
        foreach (var (id, length) in _segments)
        {
            if (id >= slowest.Segment)
            {
                break;
            }

            passed.Add(id);
            _bytesOnDisk -= length;
        }

        foreach (var id in passed)
        {
            _segments.Remove(id);
        }

        _released.AddRange(passed);
    }

    /// <summary>
    /// Deletes the released segments, oldest first. An I/O error (EIO, read-only remount, permission)
    /// goes to the caller and leaves the rest released: the next commit, of any cursor, tries again.
    /// </summary>
    public void DeleteReleased()
    {
        // One deleter at a time (cursors commit from their own tasks); appends only go at the end.
        lock (_deleting)
        {
            while (true)
            {
                long id;
                lock (Lock)
                {
                    if (_released.Count == 0)
                    {
                        return;
                    }

                    id = _released[0];
                }

                File.Delete(SegmentPath(id));
                lock (Lock)
                {
                    _released.RemoveAt(0);
                }
            }
        }
    }

    public long SegmentLength(long id)
    {
        lock (Lock)
        {
            return _segments.TryGetValue(id, out var length) ? length : 0;
        }
    }

    public long NextSegment(long id)
    {
        lock (Lock)
        {
            foreach (var key in _segments.Keys)
            {
                if (key > id)
                {
                    return key;
                }
            }
        }

        return id + 1;
    }

    /// <summary>Wakes a writer waiting for space and a drain waiting for the spool to empty.</summary>
    public void PulseSpace()
    {
        lock (Lock)
        {
            Pulse(ref _spacePulse);
        }
    }

    /// <summary>The writer stopped: readers see the end, waiters wake up.</summary>
    public void FinishWriting()
    {
        _writerDone.TrySetResult();
        lock (Lock)
        {
            Pulse(ref _dataPulse);
            Pulse(ref _spacePulse);
        }
    }

    /// <summary>Segment ids on disk, oldest first.</summary>
    public List<long> ListSegments() => System.IO.Directory.GetFiles(Directory, "*" + SegmentSuffix)
        .Select(p => long.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1)
        .Where(id => id > 0)
        .Order()
        .ToList();

    public string SegmentPath(long id) => Path.Combine(Directory, id.ToString("D16", CultureInfo.InvariantCulture) + SegmentSuffix);

    private static TaskCompletionSource NewPulse() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void Pulse(ref TaskCompletionSource pulse)
    {
        var previous = pulse;
        pulse = NewPulse();
        previous.TrySetResult();
    }
}

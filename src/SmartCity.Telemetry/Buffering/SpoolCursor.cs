using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// One reader of the spool, by name, with its own persisted position: a sink reads batches in order
/// and commits what it has stored. Each cursor sees every record; a segment is deleted once every
/// cursor has committed past it. Read and commit from one task at a time (one sink per cursor).
/// </summary>
public sealed partial class SpoolCursor : IDisposable
{
    private readonly SpoolLedger _ledger;
    private readonly SpoolOptions _options;
    private readonly ISpoolMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DiskHealth _disk;
    private SpoolCursorFile? _file;
    private SpoolPosition _committed;
    private SpoolPosition _persisted;
    private SpoolPosition _readPosition;
    private FileStream? _readStream;
    private long _readStreamSegment = -1;
    private int _lastBodyBytes = 64 * 1024;
    private int _lastLineCount;

    // The batch bodies' own pool: a full batch (about 1.9 MB for 5,000 street-light lines) is on the
    // large-object heap, and ArrayPool.Shared drops such arrays when a gen2 collection finds memory
    // pressure, which a 100,000-device burst always does; each miss was a new LOH array. This pool keeps
    // at most the bodies a sink uses at once (its writes in flight and the one being read), reused for
    // the worker's life; see SpoolBodyPool for what a per-size-class pool kept instead.
    private readonly SpoolBodyPool _bodies = new(keep: 3);
    private long _pending;
    private long _oldestPendingTicks;

    internal SpoolCursor(string name, string fileName, SpoolLedger ledger, SpoolOptions options, ISpoolMetrics metrics, TimeProvider time, ILogger logger, DiskHealth disk)
    {
        Name = name;
        FileName = fileName;
        _ledger = ledger;
        _options = options;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _disk = disk;
    }

    public string Name { get; }

    /// <summary>
    /// How many batch bodies the cursor keeps for reuse once they are disposed (default 3): set it to the
    /// reader's writes in flight + 1 (the one being read), the most it holds at once.
    /// </summary>
    public int KeepBodies
    {
        get => _bodies.Keep;
        set => _bodies.Keep = value;
    }

    /// <summary>Bytes of the batch bodies kept for reuse now (tests, diagnostics).</summary>
    internal long KeptBodyBytes => _bodies.KeptBytes;

    /// <summary>The cursor's file in the spool's folder.</summary>
    internal string FileName { get; }

    /// <summary>Records on disk this cursor has not committed yet.</summary>
    public long Depth => Interlocked.Read(ref _pending);

    /// <summary>Age of the oldest record this cursor has not committed, or zero when it is up to date.</summary>
    public TimeSpan OldestAge
    {
        get
        {
            var ticks = Interlocked.Read(ref _oldestPendingTicks);
            return ticks == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, _time.GetUtcNow().UtcTicks - ticks));
        }
    }

    internal SpoolPosition CommittedLocked => _committed;

    /// <summary>What the cursor's file holds: segments before it may be deleted once every cursor's file is past them.</summary>
    internal SpoolPosition PersistedLocked => _persisted;

    internal long PendingLocked => _pending;

    /// <summary>
    /// Completes when records are on disk that have not been read yet, or intake has ended: for a
    /// reader that also waits for something else (the sink, for its writes in flight).
    /// </summary>
    public Task UnreadAvailable
    {
        get
        {
            lock (_ledger.Lock)
            {
                return _readPosition < _ledger.DurableEndLocked || _ledger.WriterDone.IsCompleted ? Task.CompletedTask : _ledger.DataPulseLocked;
            }
        }
    }

    /// <summary>
    /// Completes when more records reach the disk than when it was taken, or when intake ends: for a
    /// reader waiting to fill a batch it already holds (<see cref="ReadMore"/>).
    /// </summary>
    public Task MoreDurable
    {
        get
        {
            lock (_ledger.Lock)
            {
                return _ledger.WriterDone.IsCompleted ? Task.CompletedTask : _ledger.DataPulseLocked;
            }
        }
    }

    /// <summary>
    /// Reads up to <paramref name="maxRecords"/> records after the last read, waiting until there is
    /// at least one. Records older than <see cref="SpoolOptions.MaxAge"/> are counted as expired.
    /// </summary>
    public async ValueTask<SpoolBatch> ReadBatchAsync(int maxRecords, CancellationToken cancellationToken)
    {
        SpoolPosition end;
        while (true)
        {
            Task wait;
            lock (_ledger.Lock)
            {
                end = _ledger.DurableEndLocked;
                if (_readPosition < end)
                {
                    break;
                }

                if (_ledger.WriterDone.IsCompleted)
                {
                    return new SpoolBatch { End = _readPosition, IsFinal = true };
                }

                wait = _ledger.DataPulseLocked;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var batch = new SpoolBatch(maxRecords, EstimateBody(maxRecords, end), _bodies);
        Fill(batch, maxRecords, end);
        return batch;
    }

    /// <summary>Adds the records on disk now to <paramref name="batch"/> (from <see cref="ReadBatchAsync"/>), up to <paramref name="maxRecords"/> in all, without waiting.</summary>
    public void ReadMore(SpoolBatch batch, int maxRecords)
    {
        var end = _ledger.DurableEnd;
        if (_readPosition < end && batch.Records < maxRecords)
        {
            Fill(batch, maxRecords, end);
        }
    }

    /// <summary>Marks everything up to <paramref name="batch"/>'s end as stored: persists the cursor, deletes segments every cursor has passed.</summary>
    public void Commit(SpoolBatch batch)
    {
        lock (_ledger.Lock)
        {
            if (batch.End <= _committed)
            {
                return;
            }

            _committed = batch.End;
            _pending -= batch.Records;
            _oldestPendingTicks = _pending == 0 ? 0 : _oldestPendingTicks;
        }

        // Behind the cursor now, never read again: closed, so a deleted segment frees its space.
        if (_readStreamSegment >= 0 && _readStreamSegment < batch.End.Segment)
        {
            _readStream?.Dispose();
            _readStream = null;
            _readStreamSegment = -1;
        }

        PersistCommit(batch.End);
        _ledger.PulseSpace();
    }

    /// <summary>Sets the age of the oldest pending record from what the sink is about to write.</summary>
    public void ObserveOldest(SpoolBatch batch)
    {
        if (batch.OldestTicks != 0)
        {
            Interlocked.Exchange(ref _oldestPendingTicks, batch.OldestTicks);
        }
    }

    /// <summary>Opens (or creates) the cursor's file; the position it holds, if any.</summary>
    internal SpoolPosition? OpenFile()
    {
        _file = SpoolCursorFile.Open(Path.Combine(_ledger.Directory, FileName), out var position);
        return position;
    }

    /// <summary>Where recovery puts the cursor, and what it left to read there.</summary>
    internal void Start(SpoolPosition position, long pending, long oldestTicks, bool persist)
    {
        lock (_ledger.Lock)
        {
            _committed = position;
            _readPosition = position;
            _persisted = position;
            _pending = pending;
            _oldestPendingTicks = pending == 0 ? 0 : oldestTicks;
        }

        if (persist)
        {
            _file!.Write(position);
        }
    }

    internal void AddPendingLocked(int records, long oldestTicks)
    {
        _pending += records;
        if (_oldestPendingTicks == 0)
        {
            _oldestPendingTicks = oldestTicks;
        }
    }

    public void Dispose()
    {
        _readStream?.Dispose();
        _file?.Dispose();
    }

    private void Fill(SpoolBatch batch, int maxRecords, SpoolPosition end)
    {
        var expiredBefore = batch.Expired;
        ReadRecords(batch, maxRecords, end, (_time.GetUtcNow() - _options.MaxAge).UtcTicks);
        _bodies.Observe(batch.Body.Length);
        if (batch.LineCount > 0)
        {
            _lastBodyBytes = batch.Body.Length;
            _lastLineCount = batch.LineCount;
        }
        batch.End = _readPosition;
        if (batch.Expired > expiredBefore)
        {
            _metrics.SpoolExpired(batch.Expired - expiredBefore);
            LogExpired(batch.Expired - expiredBefore, _options.MaxAge);
        }
    }

    /// <summary>
    /// The body's size before reading: what is on disk up to <paramref name="end"/> (a record's line is
    /// shorter than the record) when that is all in the segment being read, else up to
    /// <paramref name="maxRecords"/> lines as long as the last batch's, and a sixteenth more; so a body
    /// is rented once at about its final size instead of doubling through every size on the way.
    /// </summary>
    private int EstimateBody(int maxRecords, SpoolPosition end)
    {
        var onDisk = end.Segment == _readPosition.Segment ? end.Offset - _readPosition.Offset : long.MaxValue;
        var perLine = _lastLineCount == 0 ? 512.0 : (double)_lastBodyBytes / _lastLineCount;
        var estimate = Math.Min(onDisk, (long)(maxRecords * perLine * 17 / 16));
        return (int)Math.Clamp(estimate, 1024, Array.MaxLength);
    }

    /// <summary>Reads records straight into the batch's body: no buffer or string per record.</summary>
    private void ReadRecords(SpoolBatch batch, int maxRecords, SpoolPosition end, long expireBefore)
    {
        Span<byte> header = stackalloc byte[SpoolRecord.HeaderSize];
        while (batch.Records < maxRecords && _readPosition < end)
        {
            var segmentEnd = _readPosition.Segment == end.Segment ? end.Offset : _ledger.SegmentLength(_readPosition.Segment);
            if (_readPosition.Offset >= segmentEnd)
            {
                _readPosition = new SpoolPosition(_ledger.NextSegment(_readPosition.Segment), 0);
                continue;
            }

            var stream = ReadStream(_readPosition.Segment);
            if (stream.Position != _readPosition.Offset)
            {
                // Only when not already there (a new stream, or after a skip): a seek may drop the read buffer.
                stream.Position = _readPosition.Offset;
            }

            if (segmentEnd - _readPosition.Offset < SpoolRecord.HeaderSize
                || !SpoolRecovery.ReadExactly(stream, header)
                || !SpoolRecord.TryReadHeader(header, out var length, out var flags, out var ticks)
                || _readPosition.Offset + SpoolRecord.HeaderSize + length > segmentEnd)
            {
                SkipCorruptSegment(segmentEnd);
                continue;
            }

            // Read in place after the last line; a corrupt or expired record is simply not kept.
            var line = batch.ReserveLine(length);
            if (!SpoolRecovery.ReadExactly(stream, line) || !SpoolRecord.IsIntact(header, line))
            {
                SkipCorruptSegment(segmentEnd);
                continue;
            }

            batch.Records++;
            batch.OldestTicks = batch.OldestTicks == 0 ? ticks : batch.OldestTicks;
            if (ticks < expireBefore)
            {
                batch.Expired++;
            }
            else
            {
                batch.AddReservedLine(length);
                batch.DeadLetters += (flags & SpoolRecord.DeadLetterFlag) != 0 ? 1 : 0;
                batch.Internal += (flags & SpoolRecord.InternalFlag) != 0 ? 1 : 0;
            }

            _readPosition = _readPosition with { Offset = _readPosition.Offset + SpoolRecord.HeaderSize + length };
        }
    }

    private void SkipCorruptSegment(long segmentEnd)
    {
        _metrics.SpoolCorrupt();
        LogCorrupt(_readPosition.Segment, _readPosition.Offset);
        _readPosition = _readPosition with { Offset = segmentEnd };
    }

    private FileStream ReadStream(long segment)
    {
        if (_readStreamSegment != segment)
        {
            _readStream?.Dispose();
            _readStream = new FileStream(_ledger.SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
            _readStreamSegment = segment;
        }

        return _readStream!;
    }

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "{Count} spooled records were older than Spool:MaxAge ({MaxAge}) when storage reached them and were expired, not stored")]
    private partial void LogExpired(int count, TimeSpan maxAge);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Spool segment {Segment} is corrupt at offset {Offset}; the rest of that segment is skipped")]
    private partial void LogCorrupt(long segment, long offset);
}

using System.Buffers;
using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The durable buffer: a write-ahead log of segment files. The source appends; a group-commit loop
/// writes, fsyncs and only then acknowledges the messages to the broker; the sink reads in order
/// and commits what InfluxDB stored, which persists a cursor and deletes consumed segments.
/// After a crash, the tail is checked record by record (CRC) and everything after the cursor is
/// written again; writes are idempotent (device timestamps), so replays do not duplicate.
/// </summary>
public sealed partial class DurableSpool : BackgroundService
{
    private const string SegmentSuffix = ".seg";
    private const string CursorFile = "cursor";

    private readonly SpoolOptions _options;
    private readonly ISpoolMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<DurableSpool> _logger;
    private readonly Channel<BufferedMessage> _pending;
    private readonly TaskCompletionSource _intakeClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly object _lock = new();
    private readonly SortedDictionary<long, long> _segments = []; // id -> durable length
    private readonly TaskCompletionSource _committerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _dataPulse = NewPulse();
    private TaskCompletionSource _spacePulse = NewPulse();

    private FileStream? _writeStream;
    private SpoolCursorFile? _cursorFile;
    private SpoolPosition _durableEnd;
    private SpoolPosition _cursor;
    private SpoolPosition _readPosition;
    private FileStream? _readStream;
    private long _readStreamSegment = -1;
    private int _lastBodyBytes = 64 * 1024;
    private long _bytesOnDisk;
    private long _records;
    private long _oldestPendingTicks;
    private bool _full;
    private bool _opened;

    public DurableSpool(IOptions<SpoolOptions> options, ISpoolMetrics metrics, TimeProvider time, ILogger<DurableSpool> logger, DiskHealth? disk = null)
    {
        _disk = disk ?? new DiskHealth();
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        // A short queue in front of the disk: the MQTT handler waits here when the disk is slower
        // than the broker, which stops reading from the socket (flow control back to the broker).
        _pending = Channel.CreateBounded<BufferedMessage>(new BoundedChannelOptions(_options.CommitBatch * 2)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        metrics.ObserveSpool(this);
    }

    public string Directory => Path.GetFullPath(_options.Directory);

    /// <summary>Records on disk not yet stored.</summary>
    public long Depth => Interlocked.Read(ref _records);

    public long BytesOnDisk => Interlocked.Read(ref _bytesOnDisk);

    public int QueuedForDisk => _pending.Reader.Count;

    /// <summary>True while intake waits for space (the size bound is reached).</summary>
    public bool IsFull => Volatile.Read(ref _full) || IsDiskFull;

    /// <summary>Age of the oldest record not yet stored, or zero when storage is up to date.</summary>
    public TimeSpan OldestAge
    {
        get
        {
            var ticks = Interlocked.Read(ref _oldestPendingTicks);
            return ticks == 0 ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Max(0, _time.GetUtcNow().UtcTicks - ticks));
        }
    }

    /// <summary>Opens the spool and recovers what a previous run left, before any other component starts.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        Open();
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Queues a message for the disk; its ack runs once it is there. False after intake closed.</summary>
    public async ValueTask<bool> AppendAsync(BufferedMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _pending.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>No more appends: what is queued is still written and acknowledged.</summary>
    public void CompleteIntake()
    {
        _pending.Writer.TryComplete();
        _intakeClosed.TrySetResult();
    }

    /// <summary>Completes when everything appended before <see cref="CompleteIntake"/> is on disk and acknowledged.</summary>
    public Task IntakeFlushed => _committerDone.Task;

    /// <summary>Completes when storage has committed everything on disk (or <paramref name="cancellationToken"/> fires).</summary>
    public async Task WaitUntilEmptyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                if (_cursor >= _durableEnd && _committerDone.Task.IsCompleted)
                {
                    return;
                }

                wait = _spacePulse.Task;
            }

            // Commit pulses this, and so does the committer when it finishes.
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var _ = stoppingToken.Register(CompleteIntake);
        var batch = new List<BufferedMessage>(_options.CommitBatch);
        var buffer = new ArrayBufferWriter<byte>(1024 * 1024);
        long lastSync = 0;
        try
        {
            while (await _pending.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (_options.Fsync && _options.CommitInterval > TimeSpan.Zero && lastSync != 0 && !_intakeClosed.Task.IsCompleted)
                {
                    // Group commit: what arrives before the interval is up shares this fsync.
                    var wait = _options.CommitInterval - _time.GetElapsedTime(lastSync);
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.WhenAny(Task.Delay(wait, _time, CancellationToken.None), _intakeClosed.Task).ConfigureAwait(false);
                    }
                }

                batch.Clear();
                buffer.ResetWrittenCount();
                var records = 0;
                long oldest = 0;
                while (batch.Count < _options.CommitBatch && _pending.Reader.TryRead(out var message))
                {
                    batch.Add(message);
                    if (message.Line is null)
                    {
                        continue;
                    }

                    var ticks = _time.GetUtcNow().UtcTicks;
                    oldest = oldest == 0 ? ticks : oldest;
                    var span = buffer.GetSpan(SpoolRecord.MaxSize(message.Line));
                    var flags = (byte)((message.IsDeadLetter ? SpoolRecord.DeadLetterFlag : 0) | (message.IsInternal ? SpoolRecord.InternalFlag : 0));
                    buffer.Advance(SpoolRecord.Write(span, message.Line, flags, ticks));
                    records++;
                }

                if (records > 0)
                {
                    await WaitForSpaceAsync(buffer.WrittenCount, stoppingToken).ConfigureAwait(false);
                    lastSync = _time.GetTimestamp();
                    await WriteDurablyAsync(buffer.WrittenMemory, records, oldest, stoppingToken).ConfigureAwait(false);
                }

                await AcknowledgeAsync(batch, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped while full: the records not written stay unacknowledged in the broker.
        }
        finally
        {
            _committerDone.TrySetResult();
            Pulse(ref _dataPulse);
            Pulse(ref _spacePulse);
        }
    }

    private async Task WaitForSpaceAsync(long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_lock)
            {
                // One batch may always go in when the spool is empty, whatever its size.
                if (_bytesOnDisk + bytes <= _options.MaxBytes || _records == 0)
                {
                    if (_full)
                    {
                        _full = false;
                        _metrics.SpoolFull(false);
                        LogSpoolSpaceAgain(_bytesOnDisk);
                    }

                    return;
                }

                if (!_full)
                {
                    _full = true;
                    _metrics.SpoolFull(true);
                    LogSpoolFull(_bytesOnDisk, _options.MaxBytes);
                }

                wait = _spacePulse.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void WriteDurably(ReadOnlySpan<byte> bytes, int records, long oldestTicks)
    {
        SpoolPosition end;
        lock (_lock)
        {
            end = _durableEnd;
        }

        if (end.Offset > 0 && end.Offset + bytes.Length > _options.SegmentBytes)
        {
            end = RollSegment(end.Segment + 1);
        }

        _writeStream!.Write(bytes);
        if (_options.Fsync)
        {
            _writeStream.Flush(flushToDisk: true);
        }
        else
        {
            _writeStream.Flush();
        }

        lock (_lock)
        {
            _durableEnd = end with { Offset = end.Offset + bytes.Length };
            _segments[end.Segment] = _durableEnd.Offset;
            _bytesOnDisk += bytes.Length;
            _records += records;
            if (_oldestPendingTicks == 0)
            {
                _oldestPendingTicks = oldestTicks;
            }

            Pulse(ref _dataPulse);
        }
    }

    private SpoolPosition RollSegment(long id)
    {
        _writeStream?.Dispose();
        _writeStream = new FileStream(SegmentPath(id), FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);
        var position = new SpoolPosition(id, 0);
        lock (_lock)
        {
            _segments[id] = 0;
            _durableEnd = position;
        }

        return position;
    }

    private async Task AcknowledgeAsync(List<BufferedMessage> batch, CancellationToken cancellationToken)
    {
        var acked = 0;
        foreach (var message in batch)
        {
            if (message.Ack is null)
            {
                continue;
            }

            try
            {
                await message.Ack(cancellationToken).ConfigureAwait(false);
                acked++;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // The connection that delivered it is gone; the broker redelivers it and the write is idempotent.
                LogAckFailed(ex.Message);
            }
        }

        _metrics.Acknowledged(acked);
        _metrics.NotifyProgress();
    }

    /// <summary>
    /// Completes when records are on disk that have not been read yet, or intake has ended: for a
    /// reader that also waits for something else (the sink, for its writes in flight).
    /// </summary>
    public Task UnreadAvailable
    {
        get
        {
            lock (_lock)
            {
                return _readPosition < _durableEnd || _committerDone.Task.IsCompleted ? Task.CompletedTask : _dataPulse.Task;
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
            lock (_lock)
            {
                end = _durableEnd;
                if (_readPosition < end)
                {
                    break;
                }

                if (_committerDone.Task.IsCompleted)
                {
                    return new SpoolBatch { End = _readPosition, IsFinal = true };
                }

                wait = _dataPulse.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        // Sized like the last batch's body, so the pool hands back an array that needs no growing.
        var batch = new SpoolBatch(maxRecords, _lastBodyBytes);
        Fill(batch, maxRecords, end);
        return batch;
    }

    /// <summary>
    /// Completes when more records reach the disk than when it was taken, or when intake ends: for a
    /// reader waiting to fill a batch it already holds (<see cref="ReadMore"/>).
    /// </summary>
    public Task MoreDurable
    {
        get
        {
            lock (_lock)
            {
                return _committerDone.Task.IsCompleted ? Task.CompletedTask : _dataPulse.Task;
            }
        }
    }

    /// <summary>Adds the records on disk now to <paramref name="batch"/> (from <see cref="ReadBatchAsync"/>), up to <paramref name="maxRecords"/> in all, without waiting.</summary>
    public void ReadMore(SpoolBatch batch, int maxRecords)
    {
        SpoolPosition end;
        lock (_lock)
        {
            end = _durableEnd;
        }

        if (_readPosition < end && batch.Records < maxRecords)
        {
            Fill(batch, maxRecords, end);
        }
    }

    private void Fill(SpoolBatch batch, int maxRecords, SpoolPosition end)
    {
        var expiredBefore = batch.Expired;
        ReadRecords(batch, maxRecords, end, (_time.GetUtcNow() - _options.MaxAge).UtcTicks);
        _lastBodyBytes = batch.Body.Length;
        batch.End = _readPosition;
        if (batch.Expired > expiredBefore)
        {
            _metrics.SpoolExpired(batch.Expired - expiredBefore);
            LogExpired(batch.Expired - expiredBefore, _options.MaxAge);
        }
    }

    /// <summary>Reads records straight into the batch's body: no buffer or string per record.</summary>
    private void ReadRecords(SpoolBatch batch, int maxRecords, SpoolPosition end, long expireBefore)
    {
        Span<byte> header = stackalloc byte[SpoolRecord.HeaderSize];
        while (batch.Records < maxRecords && _readPosition < end)
        {
            var segmentEnd = _readPosition.Segment == end.Segment ? end.Offset : SegmentLength(_readPosition.Segment);
            if (_readPosition.Offset >= segmentEnd)
            {
                _readPosition = new SpoolPosition(NextSegment(_readPosition.Segment), 0);
                continue;
            }

            var stream = ReadStream(_readPosition.Segment);
            if (stream.Position != _readPosition.Offset)
            {
                // Only when not already there (a new stream, or after a skip): a seek may drop the read buffer.
                stream.Position = _readPosition.Offset;
            }

            if (segmentEnd - _readPosition.Offset < SpoolRecord.HeaderSize
                || !ReadExactly(stream, header)
                || !SpoolRecord.TryReadHeader(header, out var length, out var flags, out var ticks)
                || _readPosition.Offset + SpoolRecord.HeaderSize + length > segmentEnd)
            {
                SkipCorruptSegment(segmentEnd);
                continue;
            }

            // Read in place after the last line; a corrupt or expired record is simply not kept.
            var line = batch.ReserveLine(length);
            if (!ReadExactly(stream, line) || !SpoolRecord.IsIntact(header, line))
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

    /// <summary>Marks everything up to <paramref name="batch"/>'s end as stored: persists the cursor, deletes consumed segments.</summary>
    public void Commit(SpoolBatch batch)
    {
        List<long> deletable = [];
        lock (_lock)
        {
            if (batch.End <= _cursor)
            {
                return;
            }

            _cursor = batch.End;
            _records -= batch.Records;
            _oldestPendingTicks = _records == 0 ? 0 : _oldestPendingTicks;
            foreach (var (id, length) in _segments)
            {
                if (id >= _cursor.Segment)
                {
                    break;
                }

                deletable.Add(id);
                _bytesOnDisk -= length;
            }

            foreach (var id in deletable)
            {
                _segments.Remove(id);
            }
        }

        foreach (var id in deletable)
        {
            if (_readStreamSegment == id)
            {
                _readStream?.Dispose();
                _readStream = null;
                _readStreamSegment = -1;
            }

            File.Delete(SegmentPath(id));
        }

        WriteCursor(batch.End);
        lock (_lock)
        {
            Pulse(ref _spacePulse);
        }
    }

    /// <summary>Sets the age of the oldest pending record from what the sink is about to write.</summary>
    public void ObserveOldest(SpoolBatch batch)
    {
        if (batch.OldestTicks != 0)
        {
            Interlocked.Exchange(ref _oldestPendingTicks, batch.OldestTicks);
        }
    }

    private void Open()
    {
        if (_opened)
        {
            return;
        }

        _opened = true;
        System.IO.Directory.CreateDirectory(Directory);
        var ids = System.IO.Directory.GetFiles(Directory, "*" + SegmentSuffix)
            .Select(p => long.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : -1)
            .Where(id => id > 0)
            .Order()
            .ToList();
        _cursor = ReadCursor() ?? new SpoolPosition(ids.Count > 0 ? ids[0] : 1, 0);
        foreach (var id in ids.Where(id => id < _cursor.Segment).ToList())
        {
            File.Delete(SegmentPath(id)); // consumed before a crash, not yet deleted
            ids.Remove(id);
        }

        if (ids.Count == 0)
        {
            _cursor = new SpoolPosition(Math.Max(_cursor.Segment, 1), 0);
            _readPosition = _cursor;
            RollSegment(_cursor.Segment);
            WriteCursor(_cursor);
            return;
        }

        foreach (var id in ids)
        {
            _segments[id] = new FileInfo(SegmentPath(id)).Length;
        }

        // Only the last segment can end in a torn write: cut it back to its last intact record.
        var last = ids[^1];
        var validEnd = ScanValidEnd(last, out _, out _);
        if (validEnd < _segments[last])
        {
            LogTornTail(last, _segments[last] - validEnd);
            using var truncate = new FileStream(SegmentPath(last), FileMode.Open, FileAccess.Write);
            truncate.SetLength(validEnd);
            _segments[last] = validEnd;
        }

        if (_cursor.Segment != ids[0] || _cursor.Offset > _segments[ids[0]])
        {
            _cursor = new SpoolPosition(ids[0], Math.Min(_cursor.Offset, _segments[ids[0]]));
        }

        _bytesOnDisk = _segments.Values.Sum();
        _durableEnd = new SpoolPosition(last, validEnd);
        _readPosition = _cursor;
        _writeStream = new FileStream(SegmentPath(last), FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.None);

        // Count what is left to store, so depth and age are right from the first second.
        long records = 0;
        long oldest = 0;
        foreach (var id in ids)
        {
            ScanValidEnd(id, out var count, out var firstTicks, id == _cursor.Segment ? _cursor.Offset : 0);
            records += count;
            oldest = oldest == 0 ? firstTicks : oldest;
        }

        _records = records;
        _oldestPendingTicks = records == 0 ? 0 : oldest;
        if (records > 0)
        {
            LogRecovered(records, _bytesOnDisk);
        }
    }

    private long ScanValidEnd(long segment, out long records, out long firstTicks, long from = 0)
    {
        records = 0;
        firstTicks = 0;
        using var stream = new FileStream(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
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

    private void SkipCorruptSegment(long segmentEnd)
    {
        _metrics.SpoolCorrupt();
        LogCorrupt(_readPosition.Segment, _readPosition.Offset);
        _readPosition = _readPosition with { Offset = segmentEnd };
    }

    private long SegmentLength(long id)
    {
        lock (_lock)
        {
            return _segments.TryGetValue(id, out var length) ? length : 0;
        }
    }

    private long NextSegment(long id)
    {
        lock (_lock)
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

    private FileStream ReadStream(long segment)
    {
        if (_readStreamSegment != segment)
        {
            _readStream?.Dispose();
            _readStream = new FileStream(SegmentPath(segment), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024);
            _readStreamSegment = segment;
        }

        return _readStream!;
    }

    private static bool ReadExactly(Stream stream, Span<byte> buffer)
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

    private SpoolPosition? ReadCursor()
    {
        _cursorFile = SpoolCursorFile.Open(Path.Combine(Directory, CursorFile), out var position);
        return position;
    }

    /// <summary>Rewritten in place (<see cref="SpoolCursorFile"/>), so committing needs no new space on a full disk.</summary>
    private void WriteCursor(SpoolPosition position) => _cursorFile!.Write(position);

    private string SegmentPath(long id) => Path.Combine(Directory, id.ToString("D16", CultureInfo.InvariantCulture) + SegmentSuffix);

    private static TaskCompletionSource NewPulse() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private static void Pulse(ref TaskCompletionSource pulse)
    {
        var previous = pulse;
        pulse = NewPulse();
        previous.TrySetResult();
    }

    public override void Dispose()
    {
        _writeStream?.Dispose();
        _readStream?.Dispose();
        _cursorFile?.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Critical, Message = "Spool full ({Bytes} of {MaxBytes} bytes): the worker stops taking messages from the broker until storage catches up. Messages wait unacknowledged in the broker's session (bounded by the broker's queue limit).")]
    private partial void LogSpoolFull(long bytes, long maxBytes);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Spool has space again ({Bytes} bytes): taking messages from the broker")]
    private partial void LogSpoolSpaceAgain(long bytes);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "{Count} spooled records were older than Spool:MaxAge ({MaxAge}) when storage reached them and were expired, not stored")]
    private partial void LogExpired(int count, TimeSpan maxAge);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Spool segment {Segment} is corrupt at offset {Offset}; the rest of that segment is skipped")]
    private partial void LogCorrupt(long segment, long offset);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning, Message = "Spool segment {Segment} ended in a torn write ({Bytes} bytes after the last intact record, never acknowledged); cut back")]
    private partial void LogTornTail(long segment, long bytes);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "Spool recovered {Records} records ({Bytes} bytes) not yet stored; writing them first")]
    private partial void LogRecovered(long records, long bytes);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "Acknowledgement not sent ({Error}); the broker will redeliver")]
    private partial void LogAckFailed(string error);
}

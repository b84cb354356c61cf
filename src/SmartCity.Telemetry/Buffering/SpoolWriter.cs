using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The spool's one writer: a group-commit loop that takes what the source appended, writes it to the
/// tail segment, fsyncs, and only then acknowledges the messages to the broker. It pauses intake when
/// the spool reaches <see cref="SpoolOptions.MaxBytes"/> (flow control) or the disk refuses a write.
/// </summary>
internal sealed partial class SpoolWriter : IDisposable
{
    private readonly SpoolOptions _options;
    private readonly SpoolLedger _ledger;
    private readonly ISpoolMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<BufferedMessage> _pending;
    private readonly TaskCompletionSource _intakeClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private FileStream? _writeStream;
    private bool _full;

    // Set while the loop waits out the commit interval: an append that finds the group full ends the wait.
    private TaskCompletionSource? _groupFull;

    public SpoolWriter(SpoolOptions options, SpoolLedger ledger, ISpoolMetrics metrics, TimeProvider time, ILogger logger, DiskHealth disk, IEnumerable<ISpoolCommitParticipant>? participants = null)
    {
        _participants = [.. participants ?? []];
        _options = options;
        _ledger = ledger;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _disk = disk;
        // A short queue in front of the disk: the MQTT handler waits here when the disk is slower
        // than the broker, which stops reading from the socket (flow control back to the broker).
        _pending = Channel.CreateBounded<BufferedMessage>(new BoundedChannelOptions(_options.CommitBatch * 2)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    public int QueuedForDisk => _pending.Reader.Count;

    /// <summary>True while intake waits for space (the size bound is reached).</summary>
    public bool IsFull => Volatile.Read(ref _full);

    /// <summary>Recovers what a previous run left (<see cref="SpoolRecovery"/>) and opens the tail for appending.</summary>
    public void Open() => _writeStream = SpoolRecovery.Open(_ledger, _logger);

    /// <summary>Queues a message for the disk; its ack runs once it is there. False after intake closed.</summary>
    public async ValueTask<bool> AppendAsync(BufferedMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _pending.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            if (Volatile.Read(ref _groupFull) is { } waiting && _pending.Reader.Count >= GroupSize)
            {
                waiting.TrySetResult();
            }

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

    /// <summary>The group-commit loop, until intake is complete and everything queued is acknowledged.</summary>
    public async Task RunAsync(CancellationToken stoppingToken)
    {
        await using var _ = stoppingToken.Register(CompleteIntake);
        var batch = new List<BufferedMessage>(_options.CommitBatch);
        var buffer = new SpoolCommitBuffer();
        long lastSync = 0;
        try
        {
            while (await _pending.Reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                if (_options.Fsync && _options.CommitInterval > TimeSpan.Zero && lastSync != 0 && !_intakeClosed.Task.IsCompleted)
                {
                    // Group commit: what arrives before the interval is up shares this fsync.
                    await WaitForGroupAsync(_options.CommitInterval - _time.GetElapsedTime(lastSync)).ConfigureAwait(false);
                }

                var (records, oldest) = TakeBatch(batch, buffer);
                _metrics.SpoolStage.Received(batch.Count);
                if (batch.Count > records)
                {
                    // Acknowledgement only (a command not for the worker): nothing to store.
                    _metrics.SpoolStage.Discarded("nothing_to_store", batch.Count - records);
                }

                if (records > 0)
                {
                    await WaitForSpaceAsync(buffer.WrittenCount, stoppingToken).ConfigureAwait(false);
                    lastSync = _time.GetTimestamp();
                    await WriteDurablyAsync(buffer, records, oldest, stoppingToken).ConfigureAwait(false);
                    _metrics.SpoolStage.Sent(records);
                }

                buffer.Trim();

                // A birth's registration is on disk before the birth is acknowledged, like its record.
                await CommitParticipantsAsync(stoppingToken).ConfigureAwait(false);
                await AcknowledgeAsync(batch, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopped while full: the records not written stay unacknowledged in the broker.
        }
        finally
        {
            _ledger.FinishWriting();
        }
    }

    private int GroupSize => Math.Min(_options.CommitGroup, _options.CommitBatch);

    /// <summary>Waits out the rest of the commit interval, unless a full group is queued first (or intake closes).</summary>
    private async Task WaitForGroupAsync(TimeSpan wait)
    {
        if (wait <= TimeSpan.Zero || _pending.Reader.Count >= GroupSize)
        {
            return;
        }

        var full = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _groupFull, full);
        // Counted again after publishing the signal: an append between the first count and here saw none.
        if (_pending.Reader.Count < GroupSize)
        {
            await Task.WhenAny(Task.Delay(wait, _time, CancellationToken.None), _intakeClosed.Task, full.Task).ConfigureAwait(false);
        }

        Volatile.Write(ref _groupFull, null);
    }

    /// <summary>Takes what is queued (up to a commit batch) and encodes its records into <paramref name="buffer"/>.</summary>
    private (int Records, long OldestTicks) TakeBatch(List<BufferedMessage> batch, SpoolCommitBuffer buffer)
    {
        batch.Clear();
        buffer.Reset();
        var records = 0;
        long oldest = 0;
        while (batch.Count < _options.CommitBatch && _pending.Reader.TryRead(out var message))
        {
            batch.Add(message);
            if (!message.HasRecord)
            {
                continue;
            }

            var ticks = _time.GetUtcNow().UtcTicks;
            oldest = oldest == 0 ? ticks : oldest;
            var flags = (byte)((message.IsDeadLetter ? SpoolRecord.DeadLetterFlag : 0) | (message.IsInternal ? SpoolRecord.InternalFlag : 0));
            if (message.Line is { } line)
            {
                buffer.Advance(SpoolRecord.Write(buffer.GetSpan(SpoolRecord.MaxSize(line)), line, flags, ticks));
            }
            else
            {
                // Copied into the record here, then its arena chunk may be reused (the batch keeps only the ack).
                var utf8 = message.Utf8Line;
                buffer.Advance(SpoolRecord.Write(buffer.GetSpan(SpoolRecord.HeaderSize + utf8.Length), utf8.Span, flags, ticks));
                utf8.Release();
            }

            records++;
        }

        return (records, oldest);
    }

    private async Task WaitForSpaceAsync(long bytes, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_ledger.Lock)
            {
                // One batch may always go in when the spool is empty, whatever its size.
                if (_ledger.BytesOnDiskLocked + bytes <= _options.MaxBytes || _ledger.NothingPendingLocked)
                {
                    if (_full)
                    {
                        _full = false;
                        _metrics.SpoolFull(false);
                        LogSpoolSpaceAgain(_ledger.BytesOnDiskLocked);
                    }

                    return;
                }

                if (!_full)
                {
                    // The log line first: whoever sees the flag (the gauge, /healthz) finds the line that explains it.
                    // The other order lost that race once in a clean-clone CI run (NoLossFaultTests.SpoolAtItsBound).
                    LogSpoolFull(_ledger.BytesOnDiskLocked, _options.MaxBytes);
                    _full = true;
                    _metrics.SpoolFull(true);
                }

                wait = _ledger.SpacePulseLocked;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void WriteDurably(SpoolCommitBuffer bytes, int records, long oldestTicks)
    {
        var end = _ledger.DurableEnd;
        if (end.Offset > 0 && (_startNewSegment || end.Offset + bytes.WrittenCount > _options.SegmentBytes))
        {
            end = RollSegment(end.Segment + 1);
        }

        _startNewSegment = false;

        // Chunk after chunk, then the one fsync: what is on disk and when it is durable are as for one write.
        var stream = _writeStream!;
        bytes.WriteTo(stream);
        if (_options.Fsync)
        {
            stream.Flush(flushToDisk: true);
        }
        else
        {
            stream.Flush();
        }

        _ledger.Appended(end, bytes.WrittenCount, records, oldestTicks);
    }

    private SpoolPosition RollSegment(long id)
    {
        _writeStream?.Dispose();
        _writeStream = _ledger.CreateSegment(id);
        return new SpoolPosition(id, 0);
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
                _metrics.SpoolStage.Error("ack_failed");
                LogAckFailed(ex.Message);
            }
        }

        _metrics.Acknowledged(acked);
        _metrics.NotifyProgress();
    }

    public void Dispose() => _writeStream?.Dispose();

    [LoggerMessage(EventId = 3001, Level = LogLevel.Critical, Message = "Spool full ({Bytes} of {MaxBytes} bytes): the worker stops taking messages from the broker until storage catches up. Messages wait unacknowledged in the broker's session (bounded by the broker's queue limit).")]
    private partial void LogSpoolFull(long bytes, long maxBytes);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning, Message = "Spool has space again ({Bytes} bytes): taking messages from the broker")]
    private partial void LogSpoolSpaceAgain(long bytes);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Debug, Message = "Acknowledgement not sent ({Error}); the broker will redeliver")]
    private partial void LogAckFailed(string error);
}

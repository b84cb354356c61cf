using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>
/// The storage stage: reads the durable spool in order through its own cursor
/// (<see cref="DurableSpool.DefaultCursorName"/>), writes batches to InfluxDB, and commits them
/// through that cursor once stored. Transient failures are retried without limit (the data waits on
/// disk), bad lines are isolated by splitting the batch and dead-lettered, and nothing is dropped
/// silently.
/// </summary>
public sealed partial class InfluxSink : BackgroundService
{
    private readonly DurableSpool _spool;
    private readonly SpoolCursor _cursor;
    private readonly IPointWriter _writer;
    private readonly PipelineMetrics _metrics;
    private readonly DeadLetters _deadLetters;
    private readonly TimeProvider _time;
    private readonly ILogger<InfluxSink> _logger;
    private readonly InfluxSinkOptions _options;
    private readonly ResiliencePipeline _pipeline;
    private readonly InfluxDatabaseCheck? _databaseCheck;

    public InfluxSink(
        DurableSpool spool,
        IPointWriter writer,
        PipelineMetrics metrics,
        DeadLetters deadLetters,
        IOptions<InfluxSinkOptions> options,
        TimeProvider time,
        ILogger<InfluxSink> logger,
        InfluxDatabaseCheck? databaseCheck = null)
    {
        _databaseCheck = databaseCheck;
        _spool = spool;
        // The sink's own reader of the spool: a second sink names another cursor the same way.
        _cursor = spool.Cursor(DurableSpool.DefaultCursorName);
        _writer = writer;
        _metrics = metrics;
        _deadLetters = deadLetters;
        _time = time;
        _logger = logger;
        _options = options.Value;
        // Bodies kept for reuse: the writes in flight and the batch being read, no more (large-object heap).
        _cursor.KeepBodies = _options.MaxWritesInFlight + 1;
        _pipeline = BuildPipeline();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Runs until the spool's intake is closed and everything on disk is stored, or until the
        // host's stop timeout; what is left then stays in the spool for the next start.
        var inFlight = new Queue<InFlightWrite>();
        var pacer = new PointPacer(_options.MaxPointsPerSecond, _time);
        try
        {
            if (_databaseCheck is not null)
            {
                await _databaseCheck.WaitUntilPresentAsync(stoppingToken).ConfigureAwait(false);
            }

            await WriteUntilIntakeEndsAsync(inFlight, pacer, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The writes still in flight end with the same cancellation; observe them, commit none.
            await AbandonAsync(inFlight).ConfigureAwait(false);
            LogStoppedWithBacklog(_spool.Depth);
        }
        catch (Exception ex)
        {
            // Only a bug gets here (WriteErrorClass.Fatal): the database's answers are all retried,
            // split or dead-lettered. Retrying a bug would spin on the spool's head forever, so the
            // sink stops loudly: Critical log, /healthz 503, and the exception faults this service,
            // which stops the host; the worker then exits non-zero (WorkerHost.FatalErrorExitCode)
            // for its supervisor to see. Nothing is lost: the batch stays in the spool.
            var errorType = ex.GetType().Name;
            _metrics.SinkBlocked($"storage stopped on an internal error ({errorType}); the worker is stopping", "storage stopped on an internal error");
            LogStoppedOnError(ex, errorType, ex.Message, _spool.Depth);
            await AbandonAsync(inFlight).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Reads the cursor and writes its batches until the final one, then commits what is left in flight.
    /// Up to Influx:MaxWritesInFlight batches are written at once, so the records behind one slow
    /// write (InfluxDB compacting, a GC pause) do not all wait for it. The spool is still committed
    /// strictly in order: a batch's cursor moves only when every batch before it is stored.
    /// </summary>
    private async Task WriteUntilIntakeEndsAsync(Queue<InFlightWrite> inFlight, PointPacer pacer, CancellationToken stoppingToken)
    {
        while (true)
        {
            while (inFlight.Count > 0 && inFlight.Peek().Write.IsCompleted)
            {
                await CommitAsync(inFlight.Dequeue(), inFlight).ConfigureAwait(false);
            }

            if (inFlight.Count >= _options.MaxWritesInFlight)
            {
                await Task.WhenAny(inFlight.Peek().Write).ConfigureAwait(false);
                continue;
            }

            if (inFlight.Count > 0 && _cursor.UnreadAvailable is { IsCompleted: false } unread)
            {
                // Nothing new to read yet: wake for new records or for the oldest write, whichever comes first.
                await Task.WhenAny(unread, inFlight.Peek().Write).WaitAsync(stoppingToken).ConfigureAwait(false);
                continue;
            }

            var batch = await _cursor.ReadBatchAsync(_options.BatchSize, stoppingToken).ConfigureAwait(false);
            if (batch.IsFinal)
            {
                while (inFlight.Count > 0)
                {
                    await CommitAsync(inFlight.Dequeue(), inFlight).ConfigureAwait(false);
                }

                return;
            }

            await StartWriteAsync(batch, inFlight, stoppingToken).ConfigureAwait(false);
            await pacer.PaceAsync(batch.LineCount, stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Lets a short batch linger for more records, then starts its write behind those in flight.</summary>
    private async Task StartWriteAsync(SpoolBatch batch, Queue<InFlightWrite> inFlight, CancellationToken stoppingToken)
    {
        if (batch.Records < _options.BatchSize && _options.BatchLinger > TimeSpan.Zero)
        {
            await LingerAsync(batch, RecordsIn(inFlight), stoppingToken).ConfigureAwait(false);
        }

        if (inFlight.Count == 0)
        {
            _cursor.ObserveOldest(batch);
        }

        var trace = BatchTrace.Start(batch, _time);
        inFlight.Enqueue(new InFlightWrite(batch, TimedWriteAsync(batch, stoppingToken), trace));
    }

    private static async Task AbandonAsync(Queue<InFlightWrite> inFlight)
    {
        foreach (var write in inFlight)
        {
            await Task.WhenAny(write.Write).ConfigureAwait(false);
            _ = write.Write.Exception;
            write.Trace?.Abandon();
            write.Batch.Dispose();
        }
    }

    /// <summary>
    /// Adds records to <paramref name="batch"/> until it is full, its oldest record has waited
    /// <see cref="InfluxSinkOptions.BatchLinger"/> since it was received (half of it once the batch holds
    /// <see cref="InfluxSinkOptions.BatchLingerRecords"/>), or intake has ended. <paramref name="ahead"/>:
    /// the records of the writes in flight, which the cursor's depth counts too.
    /// </summary>
    private async Task LingerAsync(SpoolBatch batch, long ahead, CancellationToken stoppingToken)
    {
        var oldest = new DateTimeOffset(batch.OldestTicks, TimeSpan.Zero);
        // One timer for the whole linger (two when the batch reaches BatchLingerRecords), and a read only
        // when the batch could fill or end: the spool commits every Spool:CommitInterval, and arming a timer
        // and a linked token and reading the segment at each of those commits (10 per batch at 2,000 msg/s)
        // cost more than the messages' own work.
        using var lingerEnds = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        Task? timer = null;
        var armedFor = DateTimeOffset.MinValue;
        try
        {
            while (true)
            {
                // Taken before reading, so records that land in between wake the wait below.
                var more = _cursor.MoreDurable;
                var flushed = _spool.IntakeFlushed.IsCompleted;
                // The clock is read before the spool: a batch that is due takes every record durable by then,
                // even when the thread was held between the wake and here (a loaded machine).
                var now = _time.GetUtcNow();
                var couldHold = _cursor.Depth - ahead;
                var due = LingerDue(oldest, couldHold);
                if (timer is null || timer.IsCompleted || due <= now || flushed || couldHold >= _options.BatchSize)
                {
                    _cursor.ReadMore(batch, _options.BatchSize);
                }

                due = LingerDue(oldest, batch.Records);
                if (batch.Records >= _options.BatchSize || due <= now || flushed || (timer is { IsCompleted: true } && armedFor == due))
                {
                    return;
                }

                // The timer is armed for the records durable, read or not: the half linger when they make enough.
                var wake = LingerDue(oldest, Math.Max(batch.Records, couldHold));
                if (armedFor != wake)
                {
                    timer = Task.Delay(wake - now, _time, lingerEnds.Token);
                    armedFor = wake;
                }

                await Task.WhenAny(more, timer!).ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException)
        {
            // Not written, not committed: its records are read again from the spool at the next start.
            batch.Dispose();
            throw;
        }
        finally
        {
            await lingerEnds.CancelAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// When a short batch of <paramref name="records"/> goes: its oldest record's receipt plus the linger, or
    /// plus half of it once it holds BatchLingerRecords. So the linger shrinks with the rate (at the defaults,
    /// 100 ms up to 2,000 msg/s, 200 records' worth of time above, never under 50 ms): the records per write
    /// stay at least BatchLingerRecords, and the writes per second at most twice those of the full linger.
    /// </summary>
    private DateTimeOffset LingerDue(DateTimeOffset oldest, long records) =>
        oldest + (_options.BatchLingerRecords > 0 && records >= _options.BatchLingerRecords ? _options.BatchLinger / 2 : _options.BatchLinger);

    private static long RecordsIn(Queue<InFlightWrite> inFlight)
    {
        long records = 0;
        foreach (var write in inFlight)
        {
            records += write.Batch.Records;
        }

        return records;
    }

    private sealed record InFlightWrite(SpoolBatch Batch, Task<(int Refused, TimeSpan Took)> Write, BatchTrace? Trace);

    /// <summary>The oldest write has ended: count it and move the spool's cursor past it (it throws if the write was cancelled).</summary>
    private async Task CommitAsync(InFlightWrite done, Queue<InFlightWrite> rest)
    {
        var (refused, took) = await done.Write.ConfigureAwait(false);
        var batch = done.Batch;
        if (batch.LineCount > 0)
        {
            _metrics.WriteSucceeded(took);
            _metrics.SinkBlocked(null);
            // A refused line is replaced by its dead letter: one telemetry point fewer, one dead letter more.
            _metrics.Written(batch.LineCount - batch.DeadLetters - batch.Internal - refused, batch.DeadLetters + refused);
        }

        _cursor.Commit(batch);
        done.Trace?.Complete(took, refused);
        batch.Dispose(); // its write has ended: the pooled body goes back
        _metrics.NotifyProgress();
        if (rest.Count > 0)
        {
            _cursor.ObserveOldest(rest.Peek().Batch);
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "InfluxDB write failed (attempt {Attempt}, {ErrorType}: {Error}); retrying in {Delay}; data waits in the spool")]
    private partial void LogTransientError(int attempt, string errorType, string error, TimeSpan delay);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Critical, Message = "InfluxDB refuses our writes ({Error}): check Influx:Url, Influx:Token, Influx:Org and Influx:Bucket. Nothing is stored until this is fixed (data waits in the spool); retrying in {Delay}")]
    private partial void LogConfigurationError(string error, TimeSpan delay);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "InfluxDB refused a line ({Error}); it is dead-lettered: {Line}")]
    private partial void LogLineRefused(string error, string line);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Error, Message = "InfluxDB rejected a whole write ({Error}); retrying cannot help, so its {Count} lines are dead-lettered")]
    private partial void LogBatchRejected(string error, int count);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Critical, Message = "Storage stopped on an internal error ({ErrorType}: {Error}); the worker stops and exits non-zero. {Count} records stay in the spool for the next start")]
    private partial void LogStoppedOnError(Exception exception, string errorType, string error, long count);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Sink stopped with {Count} records not yet stored; they stay in the spool for the next start")]
    private partial void LogStoppedWithBacklog(long count);
}

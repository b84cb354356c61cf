using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Storage;

/// <summary>
/// The storage stage: reads the durable spool in order, writes batches to InfluxDB, and commits
/// them in the spool once stored. Transient failures are retried without limit (the data waits on
/// disk), bad lines are isolated by splitting the batch and dead-lettered, and nothing is dropped
/// silently.
/// </summary>
public sealed partial class InfluxSink : BackgroundService
{
    private readonly DurableSpool _spool;
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
        _writer = writer;
        _metrics = metrics;
        _deadLetters = deadLetters;
        _time = time;
        _logger = logger;
        _options = options.Value;
        _pipeline = BuildPipeline();
    }

    private ResiliencePipeline BuildPipeline() => new ResiliencePipelineBuilder { TimeProvider = _time }
        .AddRetry(new RetryStrategyOptions
        {
            // Only what the classifier calls retryable; bad data is split by the caller, never retried as is.
            // Polly itself stops retrying once the stopping token is cancelled.
            ShouldHandle = new PredicateBuilder().Handle<Exception>(ex =>
                WriteErrorClassifier.Classify(ex) is WriteErrorClass.Transient or WriteErrorClass.Configuration),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = _options.RetryBaseDelay,
            MaxDelay = _options.RetryMaxDelay,
            DelayGenerator = args =>
            {
                var ex = args.Outcome.Exception;
                if (ex is not null && WriteErrorClassifier.Classify(ex) == WriteErrorClass.Configuration)
                {
                    return ValueTask.FromResult<TimeSpan?>(_options.RetryMaxDelay);
                }

                var retryAfter = ex is null ? null : WriteErrorClassifier.RetryAfter(ex);
                return ValueTask.FromResult(retryAfter is { } r ? TimeSpan.FromTicks(Math.Min(r.Ticks, _options.RetryMaxDelay.Ticks)) : (TimeSpan?)null);
            },
            OnRetry = args =>
            {
                var ex = args.Outcome.Exception!;
                var cls = WriteErrorClassifier.Classify(ex);
                _metrics.WriteFailed(cls.ToString());
                if (cls == WriteErrorClass.Configuration)
                {
                    _metrics.SinkBlocked($"InfluxDB refuses our writes: {ex.Message}");
                    LogConfigurationError(ex.Message, args.RetryDelay);
                }
                else
                {
                    _metrics.SinkBlocked($"InfluxDB unavailable: {ex.Message}");
                    LogTransientError(args.AttemptNumber + 1, ex.GetType().Name, ex.Message, args.RetryDelay);
                }

                return ValueTask.CompletedTask;
            },
        })
        .AddTimeout(_options.WriteTimeout + TimeSpan.FromSeconds(1))
        .Build();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Runs until the spool's intake is closed and everything on disk is stored, or until the
        // host's stop timeout; what is left then stays in the spool for the next start.
        //
        // Up to Influx:MaxWritesInFlight batches are written at once, so the records behind one slow
        // write (InfluxDB compacting, a GC pause) do not all wait for it. The spool is still committed
        // strictly in order: a batch's cursor moves only when every batch before it is stored.
        var inFlight = new Queue<InFlightWrite>();
        long pointsThisSecond = 0;
        var secondStarted = _time.GetTimestamp();
        try
        {
            if (_databaseCheck is not null)
            {
                await _databaseCheck.WaitUntilPresentAsync(stoppingToken).ConfigureAwait(false);
            }

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

                if (inFlight.Count > 0 && _spool.UnreadAvailable is { IsCompleted: false } unread)
                {
                    // Nothing new to read yet: wake for new records or for the oldest write, whichever comes first.
                    await Task.WhenAny(unread, inFlight.Peek().Write).WaitAsync(stoppingToken).ConfigureAwait(false);
                    continue;
                }

                var batch = await _spool.ReadBatchAsync(_options.BatchSize, stoppingToken).ConfigureAwait(false);
                if (batch.IsFinal)
                {
                    while (inFlight.Count > 0)
                    {
                        await CommitAsync(inFlight.Dequeue(), inFlight).ConfigureAwait(false);
                    }

                    return;
                }

                if (batch.Records < _options.BatchSize && _options.BatchLinger > TimeSpan.Zero)
                {
                    await LingerAsync(batch, stoppingToken).ConfigureAwait(false);
                }

                if (inFlight.Count == 0)
                {
                    _spool.ObserveOldest(batch);
                }

                inFlight.Enqueue(new InFlightWrite(batch, TimedWriteAsync(batch, stoppingToken)));

                // A backlog (after an outage) drains at most at Influx:MaxPointsPerSecond, so the
                // database that just came back is not flattened by it.
                if (_options.MaxPointsPerSecond > 0)
                {
                    pointsThisSecond += batch.LineCount;
                    var elapsed = _time.GetElapsedTime(secondStarted);
                    var due = TimeSpan.FromSeconds((double)pointsThisSecond / _options.MaxPointsPerSecond);
                    if (due > elapsed)
                    {
                        await Task.Delay(due - elapsed, _time, stoppingToken).ConfigureAwait(false);
                    }

                    if (_time.GetElapsedTime(secondStarted) >= TimeSpan.FromSeconds(1))
                    {
                        pointsThisSecond = 0;
                        secondStarted = _time.GetTimestamp();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The writes still in flight end with the same cancellation; observe them, commit none.
            foreach (var write in inFlight)
            {
                await Task.WhenAny(write.Write).ConfigureAwait(false);
                _ = write.Write.Exception;
                write.Batch.Dispose();
            }

            LogStoppedWithBacklog(_spool.Depth);
        }
    }

    /// <summary>
    /// Adds records to <paramref name="batch"/> until it is full, its oldest record has waited
    /// <see cref="InfluxSinkOptions.BatchLinger"/> since it was received, or intake has ended.
    /// </summary>
    private async Task LingerAsync(SpoolBatch batch, CancellationToken stoppingToken)
    {
        var due = new DateTimeOffset(batch.OldestTicks, TimeSpan.Zero) + _options.BatchLinger;
        try
        {
            while (true)
            {
                // Taken before reading, so records that land in between wake the wait below.
                var more = _spool.MoreDurable;
                _spool.ReadMore(batch, _options.BatchSize);
                var wait = due - _time.GetUtcNow();
                if (batch.Records >= _options.BatchSize || wait <= TimeSpan.Zero || _spool.IntakeFlushed.IsCompleted)
                {
                    return;
                }

                using var delay = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                await Task.WhenAny(more, Task.Delay(wait, _time, delay.Token)).ConfigureAwait(false);
                await delay.CancelAsync().ConfigureAwait(false);
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException)
        {
            // Not written, not committed: its records are read again from the spool at the next start.
            batch.Dispose();
            throw;
        }
    }

    private sealed record InFlightWrite(SpoolBatch Batch, Task<(int Refused, TimeSpan Took)> Write);

    private async Task<(int Refused, TimeSpan Took)> TimedWriteAsync(SpoolBatch batch, CancellationToken cancellationToken)
    {
        if (batch.LineCount == 0)
        {
            return (0, TimeSpan.Zero);
        }

        var started = _time.GetTimestamp();
        var refused = await WriteSplittingBadDataAsync(batch, 0, batch.LineCount, cancellationToken).ConfigureAwait(false);
        return (refused, _time.GetElapsedTime(started));
    }

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

        _spool.Commit(batch);
        batch.Dispose(); // its write has ended: the pooled body goes back
        _metrics.NotifyProgress();
        if (rest.Count > 0)
        {
            _spool.ObserveOldest(rest.Peek().Batch);
        }
    }

    /// <summary>
    /// Writes <paramref name="count"/> lines of the batch from <paramref name="first"/>; on 400/422/413
    /// halves them until each bad line stands alone, then dead-letters it. Rewriting lines that a
    /// partial write already stored is harmless: the same series and timestamp overwrite themselves.
    /// </summary>
    /// <returns>How many lines the database refused (each replaced by a dead letter).</returns>
    private async Task<int> WriteSplittingBadDataAsync(SpoolBatch batch, int first, int count, CancellationToken cancellationToken)
    {
        try
        {
            // One exact-length copy per request (WriteService takes a whole byte[]); retries reuse it.
            await WriteAsync(batch.CopyBody(first, count), cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (IsRefused(ex, cancellationToken))
        {
            _metrics.WriteFailed(WriteErrorClassifier.Classify(ex).ToString());
            if (count == 1)
            {
                await DeadLetterRefusedLineAsync(batch.GetLine(first), ex, cancellationToken).ConfigureAwait(false);
                return 1;
            }

            var half = count / 2;
            return await WriteSplittingBadDataAsync(batch, first, half, cancellationToken).ConfigureAwait(false)
                + await WriteSplittingBadDataAsync(batch, first + half, count - half, cancellationToken).ConfigureAwait(false);
        }
    }

    private static bool IsRefused(Exception ex, CancellationToken cancellationToken) =>
        WriteErrorClassifier.Classify(ex) is WriteErrorClass.BadData or WriteErrorClass.TooLarge && !cancellationToken.IsCancellationRequested;

    /// <summary>One request through the retry pipeline: transient failures are retried, bad data is thrown to the caller.</summary>
    private Task WriteAsync(byte[] body, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(
            static (state, ct) => new ValueTask(state.writer.WriteAsync(state.body, ct)),
            (writer: _writer, body),
            cancellationToken).AsTask();

    private async Task DeadLetterRefusedLineAsync(string line, Exception ex, CancellationToken cancellationToken)
    {
        _metrics.DroppedByDatabase(1);
        LogLineRefused(ex.Message, Devices.JsonPayload.Truncate(line, 300));
        if (line.StartsWith(DeadLetters.Measurement, StringComparison.Ordinal))
        {
            return; // a dead letter the database refuses is logged above; dead-lettering it again would loop
        }

        var deadLetter = _deadLetters.CreateForRefusedLine(line, ex.Message, _time.GetUtcNow());
        try
        {
            await WriteAsync(System.Text.Encoding.UTF8.GetBytes(deadLetter + "\n"), cancellationToken).ConfigureAwait(false);
        }
        catch (Exception refused) when (IsRefused(refused, cancellationToken))
        {
            // Counted and logged like any refused line; being a dead letter, it stops there.
            _metrics.WriteFailed(WriteErrorClassifier.Classify(refused).ToString());
            await DeadLetterRefusedLineAsync(deadLetter, refused, cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "InfluxDB write failed (attempt {Attempt}, {ErrorType}: {Error}); retrying in {Delay}; data waits in the spool")]
    private partial void LogTransientError(int attempt, string errorType, string error, TimeSpan delay);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Critical, Message = "InfluxDB refuses our writes ({Error}): check Influx:Url, Influx:Token, Influx:Org and Influx:Bucket. Nothing is stored until this is fixed (data waits in the spool); retrying in {Delay}")]
    private partial void LogConfigurationError(string error, TimeSpan delay);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "InfluxDB refused a line ({Error}); it is dead-lettered: {Line}")]
    private partial void LogLineRefused(string error, string line);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Sink stopped with {Count} records not yet stored; they stay in the spool for the next start")]
    private partial void LogStoppedWithBacklog(long count);
}

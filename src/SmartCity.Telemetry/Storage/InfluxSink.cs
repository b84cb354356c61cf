using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Pipeline;

namespace SmartCity.Telemetry.Storage;

/// <summary>
/// The storage stage: takes what the buffer holds, writes it in batches, and only then acknowledges
/// the messages to the broker. Transient failures are retried without limit (the broker keeps the
/// unacknowledged messages), bad lines are isolated by splitting the batch, and nothing is dropped
/// silently.
/// </summary>
public sealed partial class InfluxSink : BackgroundService
{
    private readonly IngestBuffer _buffer;
    private readonly IPointWriter _writer;
    private readonly PipelineMetrics _metrics;
    private readonly DeadLetters _deadLetters;
    private readonly TimeProvider _time;
    private readonly ILogger<InfluxSink> _logger;
    private readonly InfluxSinkOptions _options;
    private readonly ResiliencePipeline _pipeline;

    public InfluxSink(
        IngestBuffer buffer,
        IPointWriter writer,
        PipelineMetrics metrics,
        DeadLetters deadLetters,
        IOptions<InfluxSinkOptions> options,
        TimeProvider time,
        ILogger<InfluxSink> logger)
    {
        _buffer = buffer;
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
        // Stopping means no more intake; whatever is queued is still written (bounded by the host's
        // shutdown timeout, after which the unacknowledged messages wait in the broker's session).
        await using var _ = stoppingToken.Register(_buffer.Complete);
        var reader = _buffer.Reader;
        var batch = new List<BufferedMessage>(_options.BatchSize);
        var lines = new List<string>(_options.BatchSize);
        try
        {
            while (await reader.WaitToReadAsync(CancellationToken.None).ConfigureAwait(false))
            {
                batch.Clear();
                lines.Clear();
                var deadLetterCount = 0;
                while (batch.Count < _options.BatchSize && reader.TryRead(out var message))
                {
                    batch.Add(message);
                    if (message.Line is not null)
                    {
                        lines.Add(message.Line);
                        deadLetterCount += message.IsDeadLetter ? 1 : 0;
                    }
                }

                if (lines.Count > 0)
                {
                    await WriteSplittingBadDataAsync(lines, stoppingToken).ConfigureAwait(false);
                    _metrics.SinkBlocked(null);
                    _metrics.Written(lines.Count - deadLetterCount, deadLetterCount);
                }

                await AcknowledgeAsync(batch, stoppingToken).ConfigureAwait(false);
                _metrics.NotifyProgress();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            LogStoppedWithBacklog(batch.Count + reader.Count);
        }
        finally
        {
            _buffer.MarkDrained();
        }
    }

    /// <summary>
    /// Writes the lines; on 400/422/413 halves the batch until each bad line stands alone, then
    /// dead-letters it. Rewriting lines that a partial write already stored is harmless: the same
    /// series and timestamp overwrite themselves.
    /// </summary>
    private async Task WriteSplittingBadDataAsync(List<string> lines, CancellationToken cancellationToken)
    {
        try
        {
            await _pipeline.ExecuteAsync(
                static (state, ct) => new ValueTask(state.writer.WriteAsync(state.lines, ct)),
                (writer: _writer, lines),
                cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (WriteErrorClassifier.Classify(ex) is WriteErrorClass.BadData or WriteErrorClass.TooLarge
                                   && !cancellationToken.IsCancellationRequested)
        {
            _metrics.WriteFailed(WriteErrorClassifier.Classify(ex).ToString());
            if (lines.Count == 1)
            {
                await DeadLetterRefusedLineAsync(lines[0], ex, cancellationToken).ConfigureAwait(false);
                return;
            }

            var half = lines.Count / 2;
            await WriteSplittingBadDataAsync(lines.GetRange(0, half), cancellationToken).ConfigureAwait(false);
            await WriteSplittingBadDataAsync(lines.GetRange(half, lines.Count - half), cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DeadLetterRefusedLineAsync(string line, Exception ex, CancellationToken cancellationToken)
    {
        _metrics.DroppedByDatabase(1);
        LogLineRefused(ex.Message, Devices.JsonPayload.Truncate(line, 300));
        if (line.StartsWith(DeadLetters.Measurement, StringComparison.Ordinal))
        {
            return; // a dead letter the database refuses is logged above; dead-lettering it again would loop
        }

        var deadLetter = _deadLetters.CreateForRefusedLine(line, ex.Message, _time.GetUtcNow());
        await WriteSplittingBadDataAsync([deadLetter], cancellationToken).ConfigureAwait(false);
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
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "InfluxDB write failed (attempt {Attempt}, {ErrorType}: {Error}); retrying in {Delay}; messages stay unacknowledged in the broker")]
    private partial void LogTransientError(int attempt, string errorType, string error, TimeSpan delay);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Critical, Message = "InfluxDB refuses our writes ({Error}): check Influx:Url, Influx:Token, Influx:Org and Influx:Bucket. Nothing is stored or acknowledged until this is fixed; retrying in {Delay}")]
    private partial void LogConfigurationError(string error, TimeSpan delay);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "InfluxDB refused a line ({Error}); it is dead-lettered: {Line}")]
    private partial void LogLineRefused(string error, string line);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Debug, Message = "Acknowledgement not sent ({Error}); the broker will redeliver")]
    private partial void LogAckFailed(string error);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Warning, Message = "Sink stopped with {Count} messages not stored; they stay unacknowledged in the broker's session")]
    private partial void LogStoppedWithBacklog(int count);
}

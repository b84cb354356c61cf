using Polly;
using Polly.Retry;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>One write request through the retry pipeline: backoff, probing the database meanwhile, and stall detection.</summary>
public sealed partial class InfluxSink
{
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
                // Without Retry-After, OnRetry waits out the backoff itself, probing the database meanwhile.
                return ValueTask.FromResult<TimeSpan?>(retryAfter is { } r ? TimeSpan.FromTicks(Math.Min(r.Ticks, _options.RetryMaxDelay.Ticks)) : TimeSpan.Zero);
            },
            OnRetry = args =>
            {
                var ex = args.Outcome.Exception!;
                var cls = WriteErrorClassifier.Classify(ex);
                _metrics.WriteFailed(cls.ToString());
                if (cls == WriteErrorClass.Configuration)
                {
                    _metrics.SinkBlocked($"InfluxDB refuses our writes: {ex.Message}", "InfluxDB refuses our writes (credentials, organisation or bucket)");
                    LogConfigurationError(ex.Message, args.RetryDelay);
                }
                else
                {
                    // The client's own words for a timeout would be "The operation was canceled.": say what happened.
                    var (reason, summary) = WriteErrorClassifier.IsTimeout(ex)
                        ? ($"InfluxDB write timed out after {_options.WriteTimeout.TotalSeconds:0.###} s", "InfluxDB write timed out")
                        : ($"InfluxDB unavailable: {ex.Message}", "InfluxDB unavailable");
                    _metrics.SinkBlocked(reason, summary);
                    if (args.RetryDelay == TimeSpan.Zero)
                    {
                        var backoff = Backoff(args.AttemptNumber);
                        LogTransientError(args.AttemptNumber + 1, ex.GetType().Name, reason, backoff);
                        return new ValueTask(BackOffUnlessDatabaseAnswersAsync(backoff, args.Context.CancellationToken));
                    }

                    LogTransientError(args.AttemptNumber + 1, ex.GetType().Name, reason, args.RetryDelay);
                }

                return ValueTask.CompletedTask;
            },
        })
        .AddTimeout(_options.WriteTimeout + TimeSpan.FromSeconds(1))
        .Build();

    /// <summary>How often the database is probed while a write backs off.</summary>
    internal static readonly TimeSpan ProbeInterval = TimeSpan.FromSeconds(1);

    /// <summary>Exponential from RetryBaseDelay, capped at RetryMaxDelay, with equal jitter (half fixed, half random).</summary>
    private TimeSpan Backoff(int attempt)
    {
        var exponential = Math.Min(_options.RetryMaxDelay.Ticks, _options.RetryBaseDelay.Ticks * Math.Pow(2, Math.Min(attempt, 30)));
        return TimeSpan.FromTicks((long)(exponential * (0.5 + (Random.Shared.NextDouble() * 0.5))));
    }

    /// <summary>
    /// Waits <paramref name="backoff"/>, but pings the database every <see cref="ProbeInterval"/> and
    /// stops waiting as soon as it answers: after an outage the backoff has grown to tens of seconds,
    /// and storage would otherwise resume that long after the database is back (8.6 s measured,
    /// against about 1 s after other faults).
    /// </summary>
    private async Task BackOffUnlessDatabaseAnswersAsync(TimeSpan backoff, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        while (true)
        {
            var left = backoff - _time.GetElapsedTime(started);
            if (left <= TimeSpan.Zero)
            {
                return;
            }

            await Task.Delay(left < ProbeInterval ? left : ProbeInterval, _time, cancellationToken).ConfigureAwait(false);
            if (_time.GetElapsedTime(started) < backoff && await AnswersPingAsync(cancellationToken).ConfigureAwait(false))
            {
                return;
            }
        }
    }

    private async Task<bool> AnswersPingAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A hung database must not hold the probe for a whole client timeout.
            return await _writer.PingAsync(cancellationToken).WaitAsync(ProbeInterval, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>One request through the retry pipeline: transient failures are retried, bad data is thrown to the caller.</summary>
    private Task WriteAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(
            static (state, ct) => new ValueTask(state.sink.AttemptAsync(state.body, ct)),
            (sink: this, body),
            cancellationToken).AsTask();

    /// <summary>
    /// How long one attempt may go unanswered before /healthz says so: a hung database (SIGSTOP, a
    /// dead peer without RST) would otherwise look healthy for a whole <see cref="InfluxSinkOptions.WriteTimeout"/>.
    /// A healthy InfluxDB answers in milliseconds, so 2 s (at most half the timeout) is a stall.
    /// </summary>
    internal TimeSpan StallAfter => TimeSpan.FromTicks(Math.Min(TimeSpan.FromSeconds(2).Ticks, _options.WriteTimeout.Ticks / 2));

    private async Task AttemptAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        var answered = 0;
        var stallAfter = StallAfter;
        await using (_time.CreateTimer(
            _ =>
            {
                if (Volatile.Read(ref answered) == 0)
                {
                    _metrics.SinkBlocked($"InfluxDB write stalled: no answer for {stallAfter.TotalSeconds:0.###} s (write timeout {_options.WriteTimeout.TotalSeconds:0.###} s)", "InfluxDB not answering");
                }
            },
            null,
            stallAfter,
            Timeout.InfiniteTimeSpan).ConfigureAwait(false))
        {
            try
            {
                await _writer.WriteAsync(body, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                Volatile.Write(ref answered, 1);
            }
        }
    }
}

using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>Writing one batch: bad lines split out and replaced by dead letters.</summary>
public sealed partial class InfluxSink
{
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
            // The lines as they lie in the batch's pooled buffer, no copy; the batch outlives the write and its retries.
            await WriteAsync(batch.LinesMemory(first, count), cancellationToken).ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (IsRefused(ex, cancellationToken))
        {
            var cls = WriteErrorClassifier.Classify(ex);
            _metrics.WriteFailed(cls.ToString());
            if (cls == WriteErrorClass.Rejected)
            {
                // The whole request is refused for what it is (an unexpected 4xx), not for one line:
                // splitting cannot help, so every line becomes a dead letter naming the status.
                LogBatchRejected(WriteErrorClassifier.Describe(ex), count);
                for (var i = first; i < first + count; i++)
                {
                    await DeadLetterRefusedLineAsync(batch.GetLine(i), ex, cancellationToken).ConfigureAwait(false);
                }

                return count;
            }

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
        WriteErrorClassifier.Classify(ex) is WriteErrorClass.BadData or WriteErrorClass.TooLarge or WriteErrorClass.Rejected && !cancellationToken.IsCancellationRequested;

    private async Task DeadLetterRefusedLineAsync(string line, Exception ex, CancellationToken cancellationToken)
    {
        _metrics.DroppedByDatabase(1);
        var error = WriteErrorClassifier.Describe(ex);
        LogLineRefused(error, Devices.JsonPayload.Truncate(line, 300));
        if (line.StartsWith(DeadLetters.Measurement, StringComparison.Ordinal))
        {
            return; // a dead letter the database refuses is logged above; dead-lettering it again would loop
        }

        var deadLetter = _deadLetters.CreateForRefusedLine(line, error, _time.GetUtcNow());
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
}

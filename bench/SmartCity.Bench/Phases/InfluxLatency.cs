using System.Diagnostics;

namespace SmartCity.Bench.Phases;

/// <summary>
/// InfluxDB's own write latency at the latency phase's rate: the worker's lines (as
/// <see cref="InfluxCeiling.WorkerLines"/> makes them) posted directly, one batch due every
/// interval (rate x interval lines each), one write at a time as the worker's sink writes, each
/// timed from request to 2xx. The database's raw share of "device ts -> stored" at that rate,
/// measured in the same run as the pipeline's: if its p99 alone is near 500 ms, no worker can
/// meet the latency target on this machine. Bodies are built before the clock starts.
/// </summary>
public static class InfluxLatency
{
    /// <param name="WriteMs">Each write's duration (ms, request sent to 2xx received), in posting order.</param>
    /// <param name="LateBatches">Batches posted more than a tenth of the interval (at least 20 ms) after they were due: the previous write was still running.</param>
    public sealed record Result(long Points, int Batches, double Seconds, double[] WriteMs, int LateBatches);

    public static async Task<Result> RunAsync(HttpClient http, string influxUrl, string token, string org, string bucket, IReadOnlyList<string> lines, int linesPerBatch, TimeSpan interval)
    {
        var bodies = DirectWrite.Bodies(lines, linesPerBatch);
        var uri = DirectWrite.WriteUri(influxUrl, org, bucket);
        var lateAfter = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(20).Ticks, interval.Ticks / 10));
        var writeMs = new double[bodies.Count];
        var late = 0;
        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < bodies.Count; i++)
        {
            var due = interval * i;
            var wait = due - Stopwatch.GetElapsedTime(start);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
            else if (-wait > lateAfter)
            {
                late++;
            }

            var sent = Stopwatch.GetTimestamp();
            await DirectWrite.PostAsync(http, uri, token, bodies[i]);
            writeMs[i] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
        }

        return new Result(lines.Count, bodies.Count, Stopwatch.GetElapsedTime(start).TotalSeconds, writeMs, late);
    }
}

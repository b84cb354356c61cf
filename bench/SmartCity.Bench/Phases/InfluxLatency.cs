using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

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
        ArgumentOutOfRangeException.ThrowIfLessThan(linesPerBatch, 1);
        var bodies = new List<byte[]>();
        for (var i = 0; i < lines.Count; i += linesPerBatch)
        {
            bodies.Add(Encoding.UTF8.GetBytes(string.Join('\n', lines.Skip(i).Take(Math.Min(linesPerBatch, lines.Count - i)))));
        }

        var uri = new Uri($"{influxUrl.TrimEnd('/')}/api/v2/write?org={Uri.EscapeDataString(org)}&bucket={Uri.EscapeDataString(bucket)}&precision=ns");
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

            using var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ByteArrayContent(bodies[i]) };
            request.Headers.Authorization = new AuthenticationHeaderValue("Token", token);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
            var sent = Stopwatch.GetTimestamp();
            using var response = await http.SendAsync(request);
            writeMs[i] = Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"InfluxDB answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            }
        }

        return new Result(lines.Count, bodies.Count, Stopwatch.GetElapsedTime(start).TotalSeconds, writeMs, late);
    }
}

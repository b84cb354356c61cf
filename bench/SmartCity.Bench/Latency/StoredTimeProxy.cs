using System.Buffers.Text;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace SmartCity.Bench.Latency;

/// <summary>
/// Where "stored" is observed for the latency phase: a pass-through HTTP proxy between the worker
/// and InfluxDB. It forwards every request unchanged; when a write (<c>/api/v2/write</c> or
/// <c>/write</c>) is answered 2xx, InfluxDB has stored (and made queryable) every line of it, and
/// the proxy records, for each street-light line, that instant minus the line's device timestamp
/// (the line protocol's nanosecond timestamp is the device's <c>ts</c>). Every point is measured,
/// not a sample, and nothing is added to the worker. The extra loopback hop makes the figure
/// slightly pessimistic, never optimistic.
/// </summary>
public sealed class StoredTimeProxy : IAsyncDisposable
{
    private static readonly string[] PassedRequestHeaders = ["Authorization", "Accept", "User-Agent"];
    private static readonly string[] PassedContentHeaders = ["Content-Type", "Content-Encoding"];

    private readonly WebApplication _app;
    private readonly HttpClient _upstream;
    private readonly object _lock = new();
    private readonly List<(long TsMs, double LatencyMs, int Write)> _samples = new(1 << 20);
    // Per write stored: when its request reached the proxy and when InfluxDB answered it (Unix ms), for TailBreakdown.
    private readonly List<(double ArrivedMs, double StoredMs)> _writeTimes = [];
    private readonly string _upstreamUrl;
    private readonly List<(double Ms, int Bytes, DateTime Sent)> _writeDurations = [];
    private long _requests;
    private long _writes;
    private string _lastWrite = "";

    private StoredTimeProxy(WebApplication app, HttpClient upstream, string upstreamUrl, int port)
    {
        _app = app;
        _upstream = upstream;
        _upstreamUrl = upstreamUrl.TrimEnd('/');
        Url = $"http://127.0.0.1:{port}";
    }

    public string Url { get; }

    /// <summary>Durations (ms, request sent to 2xx received) and sizes of the writes: InfluxDB's share of the latency.</summary>
    public (double P50, double P99, double Max, int Writes, double MeanBytes) WriteTimes()
    {
        lock (_lock)
        {
            var sorted = _writeDurations.Select(w => w.Ms).Order().ToArray();
            return sorted.Length == 0 ? (0, 0, 0, 0, 0)
                : (Load.Publisher.Percentile(sorted, 0.5), Load.Publisher.Percentile(sorted, 0.99), Math.Round(sorted[^1], 1), sorted.Length, Math.Round(_writeDurations.Average(w => w.Bytes)));
        }
    }

    /// <summary>
    /// The slowest writes, each "sent at (UTC) took ms": when, to set beside InfluxDB's own log (its cache snapshots and
    /// compactions are logged with their times), since one write held for a second sets the p99 of a 15 s window.
    /// </summary>
    public string SlowestWrites(int count)
    {
        lock (_lock)
        {
            return string.Join(", ", _writeDurations.OrderByDescending(w => w.Ms).Take(count)
                .Select(w => $"{w.Sent:HH:mm:ss.f} {w.Ms:F0} ms ({w.Bytes / 1024} KB)"));
        }
    }

    /// <summary>What passed through: requests, successful writes, and the last write's request line and headers (diagnostics).</summary>
    public string Describe() => $"{Interlocked.Read(ref _requests)} requests, {Interlocked.Read(ref _writes)} writes stored; last write: {_lastWrite}";

    public static async Task<StoredTimeProxy> StartAsync(string upstreamUrl)
    {
        var port = Infrastructure.WorkerProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = 64 * 1024 * 1024;
        });
        var app = builder.Build();
        var upstream = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5), AutomaticDecompression = DecompressionMethods.None })
        {
            Timeout = TimeSpan.FromSeconds(60),
        };
        var proxy = new StoredTimeProxy(app, upstream, upstreamUrl, port);
        app.Run(proxy.ForwardAsync);
        await app.StartAsync();
        return proxy;
    }

    /// <summary>Latencies (ms) of the street-light points whose device timestamp is at or after <paramref name="fromTsMs"/>.</summary>
    public double[] Latencies(long fromTsMs, long toTsMs)
    {
        lock (_lock)
        {
            return _samples.Where(s => s.TsMs >= fromTsMs && s.TsMs <= toTsMs).Select(s => s.LatencyMs).ToArray();
        }
    }

    /// <summary>
    /// Where the slowest points' time went: each point's device-to-stored time split at the moment the worker's write
    /// request reached the proxy. Before it: the worker (receipt, the spool's group commit, the sink's linger, a write
    /// slot, GC or thread-pool delays); after it: the write (the proxy's hop and InfluxDB, stalls included). For the
    /// points at or above <paramref name="percentile"/> against all points of the window, and how many writes carried
    /// the tail (a few: stalled writes; many: a delay spread over the window).
    /// </summary>
    public string TailBreakdown(long fromTsMs, long toTsMs, double percentile)
    {
        lock (_lock)
        {
            var points = _samples.Where(s => s.TsMs >= fromTsMs && s.TsMs <= toTsMs)
                .Select(s => (Latency: s.LatencyMs, Before: _writeTimes[s.Write].ArrivedMs - s.TsMs, s.Write)).ToArray();
            if (points.Length == 0)
            {
                return "no points";
            }

            var threshold = Load.Publisher.Percentile(points.Select(p => p.Latency).Order().ToArray(), percentile);
            var tail = points.Where(p => p.Latency >= threshold).ToArray();
            static string Split(IEnumerable<(double Latency, double Before, int Write)> of)
            {
                var before = of.Select(p => p.Before).Order().ToArray();
                var write = of.Select(p => p.Latency - p.Before).Order().ToArray();
                return $"before the request p50 {Load.Publisher.Percentile(before, 0.5):F0} / p99 {Load.Publisher.Percentile(before, 0.99):F0} / max {before[^1]:F0} ms, "
                    + $"the request p50 {Load.Publisher.Percentile(write, 0.5):F0} / p99 {Load.Publisher.Percentile(write, 0.99):F0} / max {write[^1]:F0} ms";
            }

            var writes = tail.GroupBy(p => p.Write).Select(g => (g.Key, Count: g.Count())).OrderByDescending(g => g.Count).ToArray();
            var top = string.Join(", ", writes.Take(5).Select(w =>
                $"{DateTimeOffset.FromUnixTimeMilliseconds((long)_writeTimes[w.Key].ArrivedMs):HH:mm:ss.fff} {w.Count} pts, request {_writeTimes[w.Key].StoredMs - _writeTimes[w.Key].ArrivedMs:F0} ms"));
            return $"all {points.Length:N0} points: {Split(points)}; the {tail.Length:N0} points >= p{percentile * 100:G3} ({threshold:F0} ms): {Split(tail)}, "
                + $"carried by {writes.Length} writes of {points.Select(p => p.Write).Distinct().Count()} (most: {top})";
        }
    }

    private async Task ForwardAsync(HttpContext context)
    {
        var arrivedMs = UnixMsNow();
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), new Uri(_upstreamUrl + request.Path + request.QueryString));
        foreach (var name in PassedRequestHeaders)
        {
            if (request.Headers.TryGetValue(name, out var value))
            {
                message.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
            }
        }

        var bytes = body.ToArray();
        if (bytes.Length > 0 || HttpMethods.IsPost(request.Method))
        {
            message.Content = new ByteArrayContent(bytes);
            foreach (var name in PassedContentHeaders)
            {
                if (request.Headers.TryGetValue(name, out var value))
                {
                    message.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string>)value!);
                }
            }
        }

        var sent = System.Diagnostics.Stopwatch.GetTimestamp();
        using var response = await _upstream.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        var took = System.Diagnostics.Stopwatch.GetElapsedTime(sent).TotalMilliseconds;
        var storedMs = UnixMsNow();
        var path = request.Path.Value ?? "";
        Interlocked.Increment(ref _requests);
        if (response.IsSuccessStatusCode && path.EndsWith("/write", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _writes);
            lock (_lock)
            {
                _writeDurations.Add((took, bytes.Length, DateTime.UtcNow.AddMilliseconds(-took)));
            }

            var encoding = request.Headers.ContentEncoding.ToString();
            _lastWrite = $"{request.Method} {path}{request.QueryString} {(int)response.StatusCode}, {bytes.Length} bytes, Content-Encoding '{encoding}'";
            Record(encoding.Contains("gzip", StringComparison.OrdinalIgnoreCase) ? Gunzip(bytes) : bytes, arrivedMs, storedMs);
        }

        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in response.Headers.Concat(response.Content.Headers))
        {
            if (!string.Equals(header.Key, "Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
    }

    private static byte[] Gunzip(byte[] body)
    {
        using var input = new System.IO.Compression.GZipStream(new MemoryStream(body), System.IO.Compression.CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private static double UnixMsNow() => (DateTimeOffset.UtcNow.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / (double)TimeSpan.TicksPerMillisecond;

    private void Record(byte[] body, double arrivedMs, double storedMs)
    {
        var samples = new List<(long, double)>(body.Length / 200);
        var span = body.AsSpan();
        while (!span.IsEmpty)
        {
            var end = span.IndexOf((byte)'\n');
            var line = end < 0 ? span : span[..end];
            span = end < 0 ? [] : span[(end + 1)..];
            if (!line.StartsWith("street_light,"u8))
            {
                continue;
            }

            var space = line.LastIndexOf((byte)' ');
            if (space > 0 && Utf8Parser.TryParse(line[(space + 1)..], out long ns, out _))
            {
                var tsMs = ns / 1_000_000;
                samples.Add((tsMs, storedMs - (ns / 1_000_000.0)));
            }
        }

        lock (_lock)
        {
            var write = _writeTimes.Count;
            _writeTimes.Add((arrivedMs, storedMs));
            foreach (var (ts, latency) in samples)
            {
                _samples.Add((ts, latency, write));
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _upstream.Dispose();
    }
}

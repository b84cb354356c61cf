using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Rollups;

/// <summary>One series of an InfluxQL answer: its tags and its first row (column -> value; null when absent).</summary>
public sealed record QuerySeries(IReadOnlyDictionary<string, string> Tags, IReadOnlyDictionary<string, double?> Values)
{
    public double? this[string column] => Values.TryGetValue(column, out var v) ? v : null;
}

/// <summary>What rollups need from InfluxDB: InfluxQL over the raw bucket, line protocol into the rollup bucket.</summary>
public interface IRollupStore
{
    /// <summary>Runs one InfluxQL SELECT on the raw data (<c>Influx:Bucket</c>); one entry per series.</summary>
    Task<IReadOnlyList<QuerySeries>> QueryAsync(string influxQl, CancellationToken cancellationToken);

    /// <summary>Writes line-protocol points (nanosecond timestamps) to the rollup bucket.</summary>
    Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IRollupStore"/> over HTTP: <c>/query</c> (InfluxQL: InfluxDB 1.x, 2.x through a DBRP
/// mapping, 3.x) and <c>/api/v2/write</c> (2.x, 3.x, 1.8+; 1.x older behind the shim), token in
/// <c>Authorization: Token</c>, as the sink uses.
/// </summary>
public sealed class InfluxRollupStore : IRollupStore, IDisposable
{
    private readonly HttpClient _http;
    private readonly string _rawBucket;
    private readonly string _writePath;

    public InfluxRollupStore(IOptions<InfluxSinkOptions> influx, IOptions<RollupOptions> rollups)
    {
        var o = influx.Value;
        _rawBucket = o.Bucket!;
        _http = new HttpClient { BaseAddress = new Uri(o.Url!.TrimEnd('/') + "/"), Timeout = rollups.Value.RequestTimeout };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", o.Token);
        _writePath = $"api/v2/write?org={Uri.EscapeDataString(o.Org!)}&bucket={Uri.EscapeDataString(rollups.Value.Bucket)}&precision=ns";
    }

    public async Task<IReadOnlyList<QuerySeries>> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["db"] = _rawBucket, ["q"] = influxQl, ["epoch"] = "ns" });
        using var response = await _http.PostAsync("query", content, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"InfluxQL query failed: {(int)response.StatusCode} {Excerpt(body)}");
        }

        return Parse(body);
    }

    public async Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        if (lines.Count == 0)
        {
            return;
        }

        using var content = new StringContent(string.Join('\n', lines) + "\n", Encoding.UTF8, "text/plain");
        using var response = await _http.PostAsync(_writePath, content, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new HttpRequestException($"rollup write failed: {(int)response.StatusCode} {Excerpt(body)}");
        }
    }

    /// <summary>Creates the rollup database with InfluxQL (1.x, or a token allowed to), as <c>Influx:CreateBucket</c> does for the raw one.</summary>
    public async Task CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = $"CREATE DATABASE \"{name}\"" });
        using var response = await _http.PostAsync("query", content, cancellationToken);
        response.EnsureSuccessStatusCode();
    }

    internal static IReadOnlyList<QuerySeries> Parse(string body)
    {
        var result = JsonDocument.Parse(body).RootElement.GetProperty("results")[0];
        if (result.TryGetProperty("error", out var error))
        {
            throw new HttpRequestException($"InfluxQL query failed: {error}");
        }

        var list = new List<QuerySeries>();
        if (!result.TryGetProperty("series", out var series))
        {
            return list;
        }

        foreach (var s in series.EnumerateArray())
        {
            var tags = s.TryGetProperty("tags", out var t)
                ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal);
            var columns = s.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToArray();
            var row = s.GetProperty("values")[0];
            var values = new Dictionary<string, double?>(StringComparer.Ordinal);
            var i = 0;
            foreach (var v in row.EnumerateArray())
            {
                values[columns[i++]] = v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
            }

            list.Add(new QuerySeries(tags, values));
        }

        return list;
    }

    private static string Excerpt(string body) => body.Length <= 300 ? body : body[..300] + "...";

    public void Dispose() => _http.Dispose();

    internal static string Nanos(DateTimeOffset t) => ((t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100).ToString(CultureInfo.InvariantCulture);
}

using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.ExceptionServices;
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
    private readonly InfluxQlClient _query;
    private readonly string _writePath;

    public InfluxRollupStore(IOptions<InfluxSinkOptions> influx, IOptions<RollupOptions> rollups)
    {
        var o = influx.Value;
        _http = new HttpClient { BaseAddress = new Uri(o.Url!.TrimEnd('/') + "/"), Timeout = rollups.Value.RequestTimeout };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", o.Token);
        _query = new InfluxQlClient(o.Url!, o.Bucket!, o.Token, rollups.Value.RequestTimeout, epoch: "ns");
        _writePath = $"api/v2/write?org={Uri.EscapeDataString(o.Org!)}&bucket={Uri.EscapeDataString(rollups.Value.Bucket)}&precision=ns";
    }

    public async Task<IReadOnlyList<QuerySeries>> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        var answer = await _query.QueryAsync(influxQl, cancellationToken);
        return answer.Failure switch
        {
            null => [.. answer.Series.Select(FirstRow)],
            { Kind: InfluxQlFailureKind.Status } f => throw new HttpRequestException($"InfluxQL query failed: {(int)f.Status!} {Excerpt(f.Body)}"),
            { Kind: InfluxQlFailureKind.Refused } f => throw new HttpRequestException($"InfluxQL query failed: {f.Message}"),
            // Transport, timeout and decoding errors surface as they always did, for RollupService's retry filter.
            var f => Rethrow<IReadOnlyList<QuerySeries>>(f),
        };
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
        // Only the HTTP status counts, as before: an InfluxQL error in a 2xx answer is not reported here.
        var answer = await _query.ServerQueryAsync($"CREATE DATABASE \"{name}\"", cancellationToken);
        switch (answer.Failure)
        {
            case { Kind: InfluxQlFailureKind.Status } f:
                throw new HttpRequestException($"Response status code does not indicate success: {(int)f.Status!} ({f.Message}).", null, f.Status);
            case { Kind: InfluxQlFailureKind.Unreachable } f:
                Rethrow<bool>(f);
                break;
        }
    }

    // Rollup queries aggregate a whole window: one row per series, numbers or null.
    private static QuerySeries FirstRow(InfluxQlSeries series)
    {
        var values = new Dictionary<string, double?>(StringComparer.Ordinal);
        var i = 0;
        foreach (var v in series.Rows[0])
        {
            values[series.Columns[i++]] = v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;
        }

        return new QuerySeries(series.Tags, values);
    }

    private static T Rethrow<T>(InfluxQlFailure failure)
    {
        ExceptionDispatchInfo.Throw(failure.Exception!);
        return default!;
    }

    private static string Excerpt(string body) => body.Length <= 300 ? body : body[..300] + "...";

    public void Dispose()
    {
        _http.Dispose();
        _query.Dispose();
    }

    internal static string Nanos(DateTimeOffset t) => ((t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100).ToString(CultureInfo.InvariantCulture);
}

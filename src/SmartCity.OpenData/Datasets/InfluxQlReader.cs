using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.OpenData.Datasets;

/// <summary>One series of an InfluxQL answer: its tags, and each row as column name to value (time in ms since the epoch).</summary>
public sealed record InfluxSeries(IReadOnlyDictionary<string, string> Tags, IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> Rows);

/// <summary>InfluxDB refused the query or could not be reached: the refresh keeps the last datasets.</summary>
public sealed class InfluxQueryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// InfluxQL on <c>/query</c> (1.x, and 2.x/3.x through their DBRP mappings), as the console's readings:
/// the one language every InfluxDB version answers. Used by the refresh only, never by a public read.
/// </summary>
public sealed class InfluxQlReader : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _database;

    public InfluxQlReader(IOptions<InfluxSinkOptions> influx, IOptions<OpenDataOptions> openData)
    {
        var o = influx.Value;
        _database = o.Bucket ?? "";
        _http = new HttpClient { BaseAddress = new Uri((o.Url ?? "http://127.0.0.1:8086").TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", openData.Value.InfluxToken is { Length: > 0 } token ? token : o.Token);
    }

    /// <summary>RFC 3339 time literal for a WHERE clause.</summary>
    public static string Time(DateTimeOffset time) => "'" + time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) + "'";

    /// <summary>The series of the first statement of <paramref name="influxQl"/>; empty when nothing matched.</summary>
    public async Task<IReadOnlyList<InfluxSeries>> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        var uri = new Uri($"query?db={Uri.EscapeDataString(_database)}&epoch=ms&q={Uri.EscapeDataString(influxQl)}", UriKind.Relative);
        try
        {
            using var response = await _http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                throw new InfluxQueryException($"InfluxDB answered {(int)response.StatusCode} to an open-data query");
            }

            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            var result = document.RootElement.GetProperty("results")[0];
            if (result.TryGetProperty("error", out var error))
            {
                throw new InfluxQueryException("InfluxDB refused an open-data query: " + error.GetString());
            }

            return result.TryGetProperty("series", out var series) ? [.. series.EnumerateArray().Select(Parse)] : [];
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException
                                   || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            throw new InfluxQueryException("InfluxDB could not answer an open-data query: " + ex.Message, ex);
        }
    }

    private static InfluxSeries Parse(JsonElement series)
    {
        var tags = series.TryGetProperty("tags", out var t)
            ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        var columns = series.GetProperty("columns").EnumerateArray().Select(c => c.GetString() ?? "").ToList();
        var rows = new List<IReadOnlyDictionary<string, JsonElement>>();
        foreach (var row in series.GetProperty("values").EnumerateArray())
        {
            var values = row.EnumerateArray().ToList();
            var byName = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            for (var i = 0; i < columns.Count && i < values.Count; i++)
            {
                // Cloned: the document is disposed when the query returns.
                byName[columns[i]] = values[i].Clone();
            }

            rows.Add(byName);
        }

        return new InfluxSeries(tags, rows);
    }

    public void Dispose() => _http.Dispose();
}

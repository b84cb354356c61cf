using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>One series of an InfluxQL answer: measurement name, tags (GROUP BY), column names and the rows' values.</summary>
public sealed record InfluxQlSeries(
    string Name,
    IReadOnlyDictionary<string, string> Tags,
    IReadOnlyList<string> Columns,
    IReadOnlyList<IReadOnlyList<JsonElement>> Rows);

/// <summary>Why a query has no answer.</summary>
public enum InfluxQlFailureKind
{
    /// <summary>No HTTP answer: connection refused, DNS, timeout (<see cref="InfluxQlFailure.Exception"/>).</summary>
    Unreachable,

    /// <summary>A non-2xx status (<see cref="InfluxQlFailure.Status"/>, <see cref="InfluxQlFailure.Body"/>; the message is the reason phrase).</summary>
    Status,

    /// <summary>InfluxDB answered, but the statement's result carries an <c>error</c> (the message).</summary>
    Refused,

    /// <summary>A 2xx body that is not the /query JSON shape (<see cref="InfluxQlFailure.Exception"/>).</summary>
    Malformed,
}

/// <summary>A failed query, as a value: each caller keeps its own way of reporting it.</summary>
public sealed record InfluxQlFailure(InfluxQlFailureKind Kind, string Message, HttpStatusCode? Status = null, string Body = "", Exception? Exception = null);

/// <summary>The series of the first statement (empty when nothing matched), or the <see cref="Failure"/>.</summary>
public sealed record InfluxQlResult(IReadOnlyList<InfluxQlSeries> Series, InfluxQlFailure? Failure)
{
    public static InfluxQlResult Failed(InfluxQlFailure failure) => new([], failure);
}

/// <summary>
/// InfluxQL on <c>/query</c>: the one language InfluxDB 1.x, 2.x (through its DBRP mappings) and 3.x
/// all answer, used by the database check, rollups, the console's readings and open data. Form POST,
/// which 1.x needs for statements that change something (CREATE DATABASE) and accepts for reads.
/// The token goes in <c>Authorization: Token</c>, as the sink's; each caller picks its own token and timeout.
/// </summary>
public sealed class InfluxQlClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string? _database;
    private readonly string _epoch;

    /// <param name="baseUrl">The InfluxDB (or shim) root, e.g. <c>http://influx:8086</c>.</param>
    /// <param name="database">The database (1.x) or DBRP-mapped bucket that <see cref="QueryAsync"/> reads.</param>
    /// <param name="token">Sent as <c>Authorization: Token</c>; a read token is enough for SELECT.</param>
    /// <param name="timeout">Per request.</param>
    /// <param name="epoch">Time column precision in answers: <c>ms</c>, <c>ns</c>, ...</param>
    /// <param name="handler">For unit tests; the default handler otherwise.</param>
    public InfluxQlClient(string baseUrl, string? database, string? token, TimeSpan timeout, string epoch = "ms", HttpMessageHandler? handler = null)
    {
        _database = database;
        _epoch = epoch;
        _http = handler is null ? new HttpClient() : new HttpClient(handler);
        _http.BaseAddress = new Uri(baseUrl.TrimEnd('/') + "/");
        _http.Timeout = timeout;
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", token);
    }

    /// <summary>Runs <paramref name="influxQl"/> on the database; times in the client's epoch.</summary>
    public Task<InfluxQlResult> QueryAsync(string influxQl, CancellationToken cancellationToken) =>
        SendAsync([new("db", _database ?? ""), new("q", influxQl), new("epoch", _epoch)], cancellationToken);

    /// <summary>Runs a statement about the server, not a database (<c>SHOW DATABASES</c>, <c>CREATE DATABASE</c>).</summary>
    public Task<InfluxQlResult> ServerQueryAsync(string influxQl, CancellationToken cancellationToken) =>
        SendAsync([new("q", influxQl)], cancellationToken);

    private async Task<InfluxQlResult> SendAsync(KeyValuePair<string, string>[] form, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new FormUrlEncodedContent(form);
            using var response = await _http.PostAsync(new Uri("query", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? Parse(body)
                : InfluxQlResult.Failed(new(InfluxQlFailureKind.Status, response.ReasonPhrase ?? "", response.StatusCode, body));
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return InfluxQlResult.Failed(new(InfluxQlFailureKind.Unreachable, ex.Message, Exception: ex));
        }
    }

    /// <summary>The first statement's result of a 2xx /query body.</summary>
    internal static InfluxQlResult Parse(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var result = document.RootElement.GetProperty("results")[0];
            if (result.TryGetProperty("error", out var error))
            {
                return InfluxQlResult.Failed(new(InfluxQlFailureKind.Refused, error.GetString() ?? ""));
            }

            return new([.. result.TryGetProperty("series", out var series) ? series.EnumerateArray().Select(ParseSeries) : []], null);
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            return InfluxQlResult.Failed(new(InfluxQlFailureKind.Malformed, ex.Message, Exception: ex));
        }
    }

    // InfluxDB leaves "values" out of a series with no rows (SHOW DATABASES on an empty server), and "tags" without GROUP BY.
    private static InfluxQlSeries ParseSeries(JsonElement series)
    {
        var name = series.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "";
        var tags = series.TryGetProperty("tags", out var t)
            ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        var columns = series.TryGetProperty("columns", out var c) ? c.EnumerateArray().Select(e => e.GetString() ?? "").ToList() : [];
        // Cloned: the document is disposed when the query returns.
        var rows = series.TryGetProperty("values", out var v)
            ? v.EnumerateArray().Select(row => (IReadOnlyList<JsonElement>)[.. row.EnumerateArray().Select(e => e.Clone())]).ToList()
            : [];
        return new InfluxQlSeries(name, tags, columns, rows);
    }

    public void Dispose() => _http.Dispose();
}

using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// A database (1.x) or bucket (2.x/3.x) owned by one test, queried with InfluxQL through /query,
/// the one query language InfluxDB 1.x, 2.x and 3.x all answer.
/// </summary>
public sealed class InfluxTestDatabase : IAsyncDisposable
{
    private readonly HttpClient _http;

    private InfluxTestDatabase(string name, HttpClient http)
    {
        Name = name;
        _http = http;
    }

    public string Name { get; }

    public static async Task<InfluxTestDatabase> CreateAsync()
    {
        var http = NewClient();
        var name = TestServers.UniqueName("t_");
        if (TestServers.InfluxKind == "v1")
        {
            using var response = await http.PostAsync("query", new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = $"CREATE DATABASE \"{name}\"" }));
            response.EnsureSuccessStatusCode();
        }
        else
        {
            var orgs = await http.GetFromJsonAsync<JsonElement>($"api/v2/orgs?org={Uri.EscapeDataString(TestServers.InfluxOrg)}");
            var orgId = orgs.GetProperty("orgs")[0].GetProperty("id").GetString();
            using var response = await http.PostAsJsonAsync("api/v2/buckets", new { orgID = orgId, name, retentionRules = Array.Empty<object>() });
            response.EnsureSuccessStatusCode();
        }

        return new InfluxTestDatabase(name, http);
    }

    /// <summary>
    /// A database name owned by the test but not created (a worker pointed at a missing database);
    /// dropped at the end all the same, in case something created it.
    /// </summary>
    public static InfluxTestDatabase NotCreated()
    {
        return new InfluxTestDatabase(TestServers.UniqueName("t_"), NewClient());
    }

    private static HttpClient NewClient()
    {
        var http = new HttpClient { BaseAddress = new Uri(TestServers.InfluxUrl + "/"), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", TestServers.InfluxToken);
        return http;
    }

    /// <summary>The databases (1.x) or mapped buckets (2.x/3.x) the server lists.</summary>
    public async Task<IReadOnlyList<string>> ServerDatabasesAsync()
    {
        using var response = await _http.GetAsync("query?q=" + Uri.EscapeDataString("SHOW DATABASES"));
        response.EnsureSuccessStatusCode();
        var result = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results")[0];
        // An empty list comes as a series without "values".
        return result.TryGetProperty("series", out var series) && series[0].TryGetProperty("values", out var values)
            ? [.. values.EnumerateArray().Select(v => v[0].GetString()!)]
            : [];
    }

    /// <summary>Runs one InfluxQL statement; timestamps come back as Unix milliseconds.</summary>
    public async Task<JsonElement> QueryAsync(string influxQl)
    {
        var url = $"query?db={Uri.EscapeDataString(Name)}&epoch=ms&q={Uri.EscapeDataString(influxQl)}";
        using var response = await _http.GetAsync(url);
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"InfluxQL '{influxQl}' failed: {(int)response.StatusCode} {body}");
        }

        var result = JsonDocument.Parse(body).RootElement.GetProperty("results")[0];
        if (result.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"InfluxQL '{influxQl}' failed: {error}");
        }

        return result;
    }

    /// <summary>The rows of every series of a query, each row as column name -> value.</summary>
    public async Task<List<(IReadOnlyDictionary<string, string> Tags, Dictionary<string, JsonElement> Row)>> RowsAsync(string influxQl)
    {
        var result = await QueryAsync(influxQl);
        var rows = new List<(IReadOnlyDictionary<string, string>, Dictionary<string, JsonElement>)>();
        if (!result.TryGetProperty("series", out var series))
        {
            return rows;
        }

        foreach (var s in series.EnumerateArray())
        {
            var tags = s.TryGetProperty("tags", out var t)
                ? t.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "")
                : new Dictionary<string, string>();
            var columns = s.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToArray();
            foreach (var values in s.GetProperty("values").EnumerateArray())
            {
                var row = new Dictionary<string, JsonElement>();
                var i = 0;
                foreach (var v in values.EnumerateArray())
                {
                    row[columns[i++]] = v.Clone();
                }

                rows.Add((tags, row));
            }
        }

        return rows;
    }

    /// <summary>The single number a <c>SELECT count(...)</c> returns (0 when the measurement is empty).</summary>
    public async Task<long> CountAsync(string influxQl)
    {
        var rows = await RowsAsync(influxQl);
        return rows.Count == 0 ? 0 : rows[0].Row.Values.Skip(1).First().GetInt64();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (TestServers.InfluxKind == "v1")
            {
                using var _ = await _http.PostAsync("query", new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = $"DROP DATABASE \"{Name}\"" }));
            }
        }
        catch (HttpRequestException)
        {
            // A test that stopped InfluxDB may leave its database behind; the run folder is deleted anyway.
        }

        _http.Dispose();
    }
}

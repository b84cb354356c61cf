using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartCity.Bench.Infrastructure;

/// <summary>InfluxQL over HTTP (/query): databases and counts. Works on 1.x, and on 2.x/3.x through DBRP mappings.</summary>
public sealed class Influx(HttpClient http, string url)
{
    public string Url { get; } = url.TrimEnd('/');

    /// <summary>
    /// How a query to a busy InfluxDB fails, to be reported rather than end the run: an error
    /// answer, a refused or reset connection, a body cut short (HttpIOException is an IOException,
    /// not an HttpRequestException), a timeout (TaskCanceledException), a body that is not the
    /// expected JSON.
    /// </summary>
    public static bool IsQueryFailure(Exception ex) =>
        ex is InvalidOperationException or HttpRequestException or IOException or TaskCanceledException or JsonException or KeyNotFoundException;

    public async Task ExecuteAsync(string statement)
    {
        using var content = new FormUrlEncodedContent(new Dictionary<string, string> { ["q"] = statement });
        using var response = await http.PostAsync(new Uri($"{Url}/query"), content);
        response.EnsureSuccessStatusCode();
    }

    public Task CreateDatabaseAsync(string database) => ExecuteAsync($"CREATE DATABASE {database}");

    public Task DropDatabaseAsync(string database) => ExecuteAsync($"DROP DATABASE {database}");

    /// <summary>Last column of the first row of <paramref name="query"/> (after the time column, if any), or 0 when there is no series.</summary>
    public async Task<long> ScalarAsync(string database, string query)
    {
        var json = await http.GetFromJsonAsync<JsonElement>(new Uri($"{Url}/query?db={database}&epoch=ms&q={Uri.EscapeDataString(query)}"));
        var result = json.GetProperty("results")[0];
        if (result.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"InfluxQL error for '{query}': {error.GetString()}");
        }

        if (!result.TryGetProperty("series", out var s))
        {
            return 0;
        }

        var row = s[0].GetProperty("values")[0];
        return row[row.GetArrayLength() - 1].GetInt64();
    }

    /// <summary>Street-light points stored with a device timestamp in [fromMs, toMs] (ms since the epoch).</summary>
    public Task<long> CountStreetLightAsync(string database, long fromMs, long toMs) =>
        ScalarAsync(database, string.Create(CultureInfo.InvariantCulture, $"SELECT count(power_w) FROM street_light WHERE time >= {fromMs}ms AND time <= {toMs}ms"));

    public Task<long> CountAsync(string database, string measurement, string field) =>
        ScalarAsync(database, $"SELECT count({field}) FROM {measurement}");
}

using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.OperatorConsole.Readings;

/// <summary>One stored reading: when, which measurement, its fields as text.</summary>
public sealed record Reading(DateTimeOffset Time, string Measurement, IReadOnlyList<KeyValuePair<string, string>> Fields);

/// <summary>The readings, or why there are none (<see cref="Failed"/>: InfluxDB down or refused the query).</summary>
public sealed record ReadingsResult(IReadOnlyList<Reading> Readings, bool Failed);

/// <summary>
/// A device's last readings for its alert page, asked of InfluxDB with InfluxQL on <c>/query</c> (1.x,
/// and 2.x/3.x through their DBRP mappings), like the worker's database check. The worker's own token
/// may be write-only (the compose stack's is): <c>Console:InfluxToken</c> gives the console a read token.
/// </summary>
public sealed class DeviceReadings : IDisposable
{
    private const int PerMeasurement = 5;
    private readonly HttpClient _http;
    private readonly string _database;

    public DeviceReadings(IOptions<InfluxSinkOptions> influx, IOptions<ConsoleOptions> console)
    {
        var o = influx.Value;
        _database = o.Bucket ?? "";
        _http = new HttpClient { BaseAddress = new Uri((o.Url ?? "http://127.0.0.1:8086").TrimEnd('/') + "/"), Timeout = TimeSpan.FromSeconds(5) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", console.Value.InfluxToken is { Length: > 0 } token ? token : o.Token);
    }

    public async Task<ReadingsResult> LastAsync(string deviceId, CancellationToken cancellationToken)
    {
        // Every measurement of the device in the last day, the newest few of each; alert transitions are not readings.
        var query = string.Create(CultureInfo.InvariantCulture,
            $"SELECT * FROM /.*/ WHERE \"device_id\" = '{Escape(deviceId)}' AND time > now() - 24h ORDER BY time DESC LIMIT {PerMeasurement}");
        try
        {
            var uri = new Uri($"query?db={Uri.EscapeDataString(_database)}&epoch=ms&q={Uri.EscapeDataString(query)}", UriKind.Relative);
            using var response = await _http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new ReadingsResult([], true);
            }

            using var document = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            var result = document.RootElement.GetProperty("results")[0];
            if (result.TryGetProperty("error", out _))
            {
                return new ReadingsResult([], true);
            }

            return new ReadingsResult([.. Parse(result).OrderByDescending(r => r.Time)], false);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException
                                   || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return new ReadingsResult([], true);
        }
    }

    private static IEnumerable<Reading> Parse(JsonElement result)
    {
        if (!result.TryGetProperty("series", out var series))
        {
            yield break;
        }

        foreach (var s in series.EnumerateArray())
        {
            var measurement = s.GetProperty("name").GetString() ?? "";
            if (measurement == "alert_transition")
            {
                continue;
            }

            var columns = s.GetProperty("columns").EnumerateArray().Select(c => c.GetString() ?? "").ToList();
            foreach (var row in s.GetProperty("values").EnumerateArray())
            {
                var values = row.EnumerateArray().ToList();
                var fields = new List<KeyValuePair<string, string>>();
                for (var i = 1; i < columns.Count && i < values.Count; i++)
                {
                    if (values[i].ValueKind != JsonValueKind.Null && !IsTag(columns[i]))
                    {
                        fields.Add(new(columns[i], values[i].ValueKind == JsonValueKind.String ? values[i].GetString()! : values[i].GetRawText()));
                    }
                }

                yield return new Reading(DateTimeOffset.FromUnixTimeMilliseconds(values[0].GetInt64()), measurement, fields);
            }
        }
    }

    // The device's identity is on the page already; the readings show what it measured.
    private static bool IsTag(string column) => column is "device_id" or "sector" or "district" or "site" or "device_type" or "profile";

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal);

    public void Dispose() => _http.Dispose();
}

using System.Globalization;
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
    private readonly InfluxQlClient _client;

    public DeviceReadings(IOptions<InfluxSinkOptions> influx, IOptions<ConsoleOptions> console)
    {
        var o = influx.Value;
        _client = new InfluxQlClient(o.Url ?? "http://127.0.0.1:8086", o.Bucket ?? "",
            console.Value.InfluxToken is { Length: > 0 } token ? token : o.Token, TimeSpan.FromSeconds(5), epoch: "ms");
    }

    public async Task<ReadingsResult> LastAsync(string deviceId, CancellationToken cancellationToken)
    {
        // Every measurement of the device in the last day, the newest few of each; alert transitions are not readings.
        var query = string.Create(CultureInfo.InvariantCulture,
            $"SELECT * FROM /.*/ WHERE \"device_id\" = '{InfluxQl.Escape(deviceId)}' AND time > now() - 24h ORDER BY time DESC LIMIT {PerMeasurement}");
        var answer = await _client.QueryAsync(query, cancellationToken).ConfigureAwait(false);
        if (answer.Failure is not null)
        {
            return new ReadingsResult([], true);
        }

        try
        {
            return new ReadingsResult([.. ToReadings(answer.Series).OrderByDescending(r => r.Time)], false);
        }
        catch (Exception ex) when (ex is KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            // A time column that is not epoch milliseconds: an answer the page cannot show.
            return new ReadingsResult([], true);
        }
    }

    private static IEnumerable<Reading> ToReadings(IReadOnlyList<InfluxQlSeries> series)
    {
        foreach (var s in series)
        {
            if (s.Name == "alert_transition")
            {
                continue;
            }

            foreach (var values in s.Rows)
            {
                var fields = new List<KeyValuePair<string, string>>();
                for (var i = 1; i < s.Columns.Count && i < values.Count; i++)
                {
                    if (values[i].ValueKind != JsonValueKind.Null && !IsTag(s.Columns[i]))
                    {
                        fields.Add(new(s.Columns[i], values[i].ValueKind == JsonValueKind.String ? values[i].GetString()! : values[i].GetRawText()));
                    }
                }

                yield return new Reading(DateTimeOffset.FromUnixTimeMilliseconds(values[0].GetInt64()), s.Name, fields);
            }
        }
    }

    // The device's identity is on the page already; the readings show what it measured.
    private static bool IsTag(string column) => column is "device_id" or "sector" or "district" or "site" or "device_type" or "profile";

    public void Dispose() => _client.Dispose();
}

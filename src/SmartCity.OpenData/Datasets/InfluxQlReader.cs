using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.OpenData.Datasets;

/// <summary>One series of an InfluxQL answer: its tags, and each row as column name to value (time in ms since the epoch).</summary>
public sealed record InfluxSeries(IReadOnlyDictionary<string, string> Tags, IReadOnlyList<IReadOnlyDictionary<string, JsonElement>> Rows);

/// <summary>InfluxDB refused the query or could not be reached: the refresh keeps the last datasets.</summary>
public sealed class InfluxQueryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The refresh's queries through <see cref="InfluxQlClient"/> (InfluxQL on <c>/query</c>), as the console's
/// readings; a failure becomes an <see cref="InfluxQueryException"/>. Used by the refresh only, never by a public read.
/// </summary>
public sealed class InfluxQlReader : IDisposable
{
    private readonly InfluxQlClient _client;

    public InfluxQlReader(IOptions<InfluxSinkOptions> influx, IOptions<OpenDataOptions> openData)
    {
        var o = influx.Value;
        _client = new InfluxQlClient(o.Url ?? "http://127.0.0.1:8086", o.Bucket ?? "",
            openData.Value.InfluxToken is { Length: > 0 } token ? token : o.Token, TimeSpan.FromSeconds(60), epoch: "ms");
    }

    /// <summary>The series of the first statement of <paramref name="influxQl"/>; empty when nothing matched.</summary>
    public async Task<IReadOnlyList<InfluxSeries>> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        var answer = await _client.QueryAsync(influxQl, cancellationToken).ConfigureAwait(false);
        return answer.Failure switch
        {
            null => [.. answer.Series.Select(ByColumn)],
            { Kind: InfluxQlFailureKind.Status } f => throw new InfluxQueryException($"InfluxDB answered {(int)f.Status!} to an open-data query"),
            { Kind: InfluxQlFailureKind.Refused } f => throw new InfluxQueryException("InfluxDB refused an open-data query: " + f.Message),
            var f => throw new InfluxQueryException("InfluxDB could not answer an open-data query: " + f.Message, f.Exception),
        };
    }

    private static InfluxSeries ByColumn(InfluxQlSeries series)
    {
        var rows = new List<IReadOnlyDictionary<string, JsonElement>>();
        foreach (var values in series.Rows)
        {
            var byName = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            for (var i = 0; i < series.Columns.Count && i < values.Count; i++)
            {
                byName[series.Columns[i]] = values[i];
            }

            rows.Add(byName);
        }

        return new InfluxSeries(series.Tags, rows);
    }

    public void Dispose() => _client.Dispose();
}

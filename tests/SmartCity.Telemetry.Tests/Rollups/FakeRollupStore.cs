using System.Globalization;
using System.Text.RegularExpressions;
using SmartCity.Telemetry.Rollups;

namespace SmartCity.Telemetry.Tests.Rollups;

/// <summary>
/// Raw classroom readings in memory, answering the hourly rollup's query by the time range it names
/// (mean, max and count of CO2 per device), and keeping every point written. Readings are added
/// when the test says they "arrive", so what a window saw depends on when it was computed.
/// </summary>
internal sealed partial class FakeRollupStore : IRollupStore
{
    private readonly object _lock = new();
    private readonly List<(DateTimeOffset Time, string Device, double Co2)> _readings = [];

    public List<string> Written { get; } = [];

    public List<(DateTimeOffset Start, DateTimeOffset End)> QueriedRanges { get; } = [];

    public bool FailWrites { get; set; }

    public void Arrive(DateTimeOffset time, string device, double co2)
    {
        lock (_lock)
        {
            _readings.Add((time, device, co2));
        }
    }

    public Task<IReadOnlyList<QuerySeries>> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        var m = RangePattern().Match(influxQl);
        Assert.True(m.Success, influxQl);
        var start = FromNanos(m.Groups[1].Value);
        var end = FromNanos(m.Groups[2].Value);
        lock (_lock)
        {
            QueriedRanges.Add((start, end));
            if (!influxQl.Contains("FROM \"classroom_env\"", StringComparison.Ordinal))
            {
                return Task.FromResult<IReadOnlyList<QuerySeries>>([]);
            }

            IReadOnlyList<QuerySeries> series = [.. _readings.Where(r => r.Time >= start && r.Time < end).GroupBy(r => r.Device).OrderBy(g => g.Key, StringComparer.Ordinal)
                .Select(g => new QuerySeries(
                    new Dictionary<string, string> { ["device_id"] = g.Key, ["sector"] = "education" },
                    new Dictionary<string, double?> { ["co2_mean_ppm"] = g.Average(r => r.Co2), ["co2_max_ppm"] = g.Max(r => r.Co2), ["samples"] = g.Count() }))];
            return Task.FromResult(series);
        }
    }

    public Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken)
    {
        if (FailWrites)
        {
            throw new HttpRequestException("rollup bucket not found");
        }

        lock (_lock)
        {
            Written.AddRange(lines);
        }

        return Task.CompletedTask;
    }

    /// <summary>The written points of one measurement: (time, device, field=value text).</summary>
    public List<(DateTimeOffset Time, string Device, Dictionary<string, string> Fields)> Points(string measurement)
    {
        lock (_lock)
        {
            return [.. Written.Where(l => l.StartsWith(measurement + ",", StringComparison.Ordinal)).Select(l =>
            {
                var parts = l.Split(' ');
                var device = parts[0].Split(',').Single(t => t.StartsWith("device_id=", StringComparison.Ordinal))["device_id=".Length..];
                var fields = parts[1].Split(',').Select(f => f.Split('=')).ToDictionary(f => f[0], f => f[1]);
                return (FromNanos(parts[2]), device, fields);
            })];
        }
    }

    private static DateTimeOffset FromNanos(string ns) =>
        DateTimeOffset.UnixEpoch.AddTicks(long.Parse(ns, CultureInfo.InvariantCulture) / 100);

    [GeneratedRegex(@"time >= (\d+) AND time < (\d+)")]
    private static partial Regex RangePattern();
}

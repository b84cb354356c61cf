using System.Globalization;
using System.Text;

namespace SmartCity.Telemetry.Rollups;

/// <summary>The measurements the worker writes into the rollup bucket (docs/influxdb-schema.md, "Rollups").</summary>
public static class RollupMeasurements
{
    public const string LampEnergyDaily = "rollup_lamp_energy_1d";
    public const string DistrictEnergyDaily = "rollup_district_energy_1d";
    public const string ClassroomHourly = "rollup_classroom_1h";
    public const string AlertsDaily = "rollup_alerts_1d";
}

/// <summary>
/// One window's rollup points, each computed by InfluxDB itself with InfluxQL over the raw points of
/// exactly that window (time &gt;= start AND time &lt; end, nanoseconds), so a rollup is the raw data's
/// aggregate by construction and a recomputed window writes the same points again (same series, same time).
/// </summary>
internal sealed class RollupJobs(IRollupStore store, RollupOptions options)
{
    private const string DeviceTags = "GROUP BY \"sector\", \"district\", \"site\", \"device_id\"";

    /// <summary>CO2 and occupancy per classroom sensor per hour.</summary>
    public async Task<List<string>> HourlyAsync(RollupWindow w, CancellationToken ct)
    {
        var rooms = await store.QueryAsync(
            "SELECT mean(\"co2_ppm\") AS \"co2_mean_ppm\", max(\"co2_ppm\") AS \"co2_max_ppm\", mean(\"occupancy\") AS \"occupancy_mean\", "
            + $"max(\"occupancy\") AS \"occupancy_max\", count(\"co2_ppm\") AS \"samples\" FROM \"classroom_env\" WHERE {Range(w.Start, w.End)} {DeviceTags}", ct);
        return [.. rooms.Select(r => Line(RollupMeasurements.ClassroomHourly, r.Tags, w.Start,
            ("co2_mean_ppm", r["co2_mean_ppm"], false), ("co2_max_ppm", r["co2_max_ppm"], false),
            ("occupancy_mean", r["occupancy_mean"], false), ("occupancy_max", r["occupancy_max"], true),
            ("samples", r["samples"], true))).OfType<string>()];
    }

    /// <summary>Energy per lamp and per district, alert counts per sector and severity, per city day.</summary>
    public async Task<List<string>> DailyAsync(RollupWindow w, CancellationToken ct)
    {
        var lines = await LampsAsync(w, ct);
        lines.AddRange(await AlertsAsync(w, ct));
        return lines;
    }

    private async Task<List<string>> LampsAsync(RollupWindow w, CancellationToken ct)
    {
        var day = await store.QueryAsync(
            "SELECT first(\"energy_kwh\") AS \"first\", last(\"energy_kwh\") AS \"last\", mean(\"power_w\") AS \"power_mean_w\", "
            + $"count(\"power_w\") AS \"samples\" FROM \"street_light\" WHERE {Range(w.Start, w.End)} {DeviceTags}", ct);
        var before = (await store.QueryAsync(
            $"SELECT last(\"energy_kwh\") AS \"last\" FROM \"street_light\" WHERE {Range(w.Start - options.MeterLookback, w.Start)} GROUP BY \"device_id\"", ct))
            .Where(s => s["last"] is not null)
            .ToDictionary(s => s.Tags.GetValueOrDefault("device_id", ""), s => s["last"]!.Value, StringComparer.Ordinal);
        var hours = w.Length.TotalHours;
        var lines = new List<string>();
        var districts = new SortedDictionary<(string Sector, string District), (double Kwh, long Lamps)>();
        foreach (var lamp in day)
        {
            var energy = LampEnergy(lamp["first"], lamp["last"], before.TryGetValue(lamp.Tags.GetValueOrDefault("device_id", ""), out var b) ? b : null);
            lines.Add(Line(RollupMeasurements.LampEnergyDaily, lamp.Tags, w.Start,
                ("energy_kwh", energy, false), ("meter_kwh", lamp["last"], false), ("power_mean_w", lamp["power_mean_w"], false),
                ("samples", lamp["samples"], true), ("window_h", hours, false))!);
            if (energy is { } kwh)
            {
                var key = (lamp.Tags.GetValueOrDefault("sector", ""), lamp.Tags.GetValueOrDefault("district", ""));
                var sum = districts.GetValueOrDefault(key);
                districts[key] = (sum.Kwh + kwh, sum.Lamps + 1);
            }
        }

        foreach (var ((sector, district), sum) in districts)
        {
            var tags = new Dictionary<string, string>(StringComparer.Ordinal) { ["sector"] = sector, ["district"] = district };
            lines.Add(Line(RollupMeasurements.DistrictEnergyDaily, tags, w.Start, ("energy_kwh", sum.Kwh, false), ("lamps", sum.Lamps, true), ("window_h", hours, false))!);
        }

        return lines;
    }

    /// <summary>
    /// The meter (kWh since installation) rose by this much during the day: its last reading of the day
    /// minus its last reading before the day, so no kWh falls between two days. Without an earlier
    /// reading (a new lamp, a long silence) the first of the day is the base; a meter that went back
    /// (a controller replaced) counts from its first reading of the day, never negative.
    /// </summary>
    internal static double? LampEnergy(double? first, double? last, double? before)
    {
        if (first is null || last is null)
        {
            return null;
        }

        if (before is { } b && last >= b)
        {
            return last - b;
        }

        return Math.Max(0, last.Value - first.Value);
    }

    private async Task<List<string>> AlertsAsync(RollupWindow w, CancellationToken ct)
    {
        var counts = await store.QueryAsync(
            $"SELECT count(\"alert_id\") AS \"n\" FROM \"alert_transition\" WHERE \"transition\" =~ /^(raised|resolved)$/ AND {Range(w.Start, w.End)} "
            + "GROUP BY \"sector\", \"severity\", \"transition\"", ct);
        return [.. counts
            .GroupBy(c => (Sector: c.Tags.GetValueOrDefault("sector", ""), Severity: c.Tags.GetValueOrDefault("severity", "")))
            .Select(g => Line(RollupMeasurements.AlertsDaily,
                new Dictionary<string, string>(StringComparer.Ordinal) { ["sector"] = g.Key.Sector, ["severity"] = g.Key.Severity }, w.Start,
                ("raised", g.Where(c => c.Tags.GetValueOrDefault("transition") == "raised").Sum(c => c["n"] ?? 0), true),
                ("resolved", g.Where(c => c.Tags.GetValueOrDefault("transition") == "resolved").Sum(c => c["n"] ?? 0), true)))
            .OfType<string>()];
    }

    internal static string Range(DateTimeOffset start, DateTimeOffset end) =>
        $"time >= {InfluxRollupStore.Nanos(start)} AND time < {InfluxRollupStore.Nanos(end)}";

    /// <summary>
    /// A line-protocol point. Tag values come from the raw data's tags, which the worker restricted to
    /// [A-Za-z0-9_.-] (docs/influxdb-schema.md), so they need no escaping; an empty tag is left out.
    /// Null fields are left out; a point without fields is none.
    /// </summary>
    private static string? Line(string measurement, IReadOnlyDictionary<string, string> tags, DateTimeOffset time, params (string Name, double? Value, bool Integer)[] fields)
    {
        var present = fields.Where(f => f.Value is not null).ToList();
        if (present.Count == 0)
        {
            return null;
        }

        var b = new StringBuilder(measurement);
        foreach (var (k, v) in tags.Where(t => t.Value.Length > 0).OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            b.Append(',').Append(k).Append('=').Append(v);
        }

        b.Append(' ').AppendJoin(',', present.Select(f => f.Integer
            ? $"{f.Name}={((long)Math.Round(f.Value!.Value)).ToString(CultureInfo.InvariantCulture)}i"
            : $"{f.Name}={f.Value!.Value.ToString("R", CultureInfo.InvariantCulture)}"));
        return b.Append(' ').Append(InfluxRollupStore.Nanos(time)).ToString();
    }
}

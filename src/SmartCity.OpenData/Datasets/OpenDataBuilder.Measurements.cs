using System.Globalization;
using System.Text.Json;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.OpenData.Datasets;

/// <summary>The datasets aggregated from telemetry: lighting energy and school air.</summary>
public sealed partial class OpenDataBuilder
{
    private async Task<DatasetTable> EnergyAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var rows = new List<object?[]>();
        var suppressed = 0;
        var thisMonth = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero);
        for (var m = _options.EnergyMonths - 1; m >= 0; m--)
        {
            var start = thisMonth.AddMonths(-m);
            var end = start.AddMonths(1);
            // The meters are counters: a lamp's use in the month is its increase (spread) within the month.
            var series = await influx.QueryAsync(
                "SELECT spread(\"energy_kwh\") FROM \"street_light\" WHERE \"sector\" = 'lighting' AND time >= " + InfluxQl.Time(start)
                + " AND time < " + InfluxQl.Time(end) + " GROUP BY \"district\", \"device_id\"", cancellationToken).ConfigureAwait(false);
            foreach (var district in series.GroupBy(s => s.Tags.GetValueOrDefault("district") ?? "", StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var perLamp = district.SelectMany(s => s.Rows).Where(r => r.TryGetValue("spread", out var v) && v.ValueKind == JsonValueKind.Number).Select(r => r["spread"].GetDouble()).ToList();
                if (perLamp.Count < _options.MinLampsPerDistrict)
                {
                    suppressed++;
                    continue;
                }

                rows.Add([district.Key, start.ToString("yyyy-MM", CultureInfo.InvariantCulture), (long)perLamp.Count, Math.Round(perLamp.Sum(), 3)]);
            }
        }

        return new DatasetTable(DatasetDefinitions.LightingEnergy, rows, suppressed);
    }

    private async Task<DatasetTable> SchoolAirAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var monday = today.AddDays(-(((int)today.DayOfWeek + 6) % 7)).AddDays(-7 * (_options.AirQualityWeeks - 1));
        var start = new DateTimeOffset(monday.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        // Hourly means per classroom sensor; only the school's figures leave this method.
        var series = await influx.QueryAsync(
            "SELECT mean(\"co2_ppm\") FROM \"classroom_env\" WHERE \"sector\" = 'education' AND time >= " + InfluxQl.Time(start)
            + " AND time <= " + InfluxQl.Time(now) + " GROUP BY time(1h), \"district\", \"site\", \"device_id\" fill(none)", cancellationToken).ConfigureAwait(false);
        var hours = series.SelectMany(s => s.Rows
                .Where(r => r.TryGetValue("mean", out var v) && v.ValueKind == JsonValueKind.Number)
                .Select(r => (District: s.Tags.GetValueOrDefault("district") ?? "", School: s.Tags.GetValueOrDefault("site") ?? "", Sensor: s.Tags.GetValueOrDefault("device_id") ?? "",
                    Hour: DateTimeOffset.FromUnixTimeMilliseconds(r["time"].GetInt64()), Co2: r["mean"].GetDouble())))
            .ToList();
        var rows = new List<object?[]>();
        var suppressed = 0;
        foreach (var week in hours.GroupBy(h => (h.District, h.School, Week: WeekStart(h.Hour))).OrderBy(g => g.Key.School, StringComparer.Ordinal).ThenBy(g => g.Key.Week))
        {
            if (week.Select(h => h.Sensor).Distinct(StringComparer.Ordinal).Count() is var sensors && sensors < _options.MinSensorsPerSchool)
            {
                suppressed++;
                continue;
            }

            // The school's hour counts when its worst classroom was above the threshold.
            var worst = week.GroupBy(h => h.Hour).Select(g => g.Max(h => h.Co2)).ToList();
            var weekStart = week.Key.Week;
            var iso = $"{ISOWeek.GetYear(weekStart.ToDateTime(TimeOnly.MinValue)):D4}-W{ISOWeek.GetWeekOfYear(weekStart.ToDateTime(TimeOnly.MinValue)):D2}";
            rows.Add([week.Key.District, week.Key.School, iso, weekStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                (long)sensors, (long)worst.Count, (long)worst.Count(c => c > 1000), (long)worst.Count(c => c > 1500)]);
        }

        return new DatasetTable(DatasetDefinitions.SchoolAir, rows, suppressed);
    }

    private static DateOnly WeekStart(DateTimeOffset time)
    {
        var day = DateOnly.FromDateTime(time.UtcDateTime);
        return day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
    }
}

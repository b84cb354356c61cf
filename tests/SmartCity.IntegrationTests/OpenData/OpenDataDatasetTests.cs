using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.OpenData;

/// <summary>
/// Each published figure against the simulated week's raw readings, computed here without InfluxDB:
/// the worker got the week through MQTT, stored it, raised and resolved the outages, and built the
/// datasets with InfluxQL; the test reads them as a citizen does (anonymous JSON).
/// </summary>
[Collection(OpenDataWeekFixture.Name)]
public sealed class OpenDataDatasetTests(OpenDataWeek week)
{
    private static readonly string[] SchoolAirColumns = ["district", "school", "week", "week_start", "sensors", "hours_measured", "hours_above_1000_ppm", "hours_above_1500_ppm"];

    [Fact]
    public async Task LightingOutages_SimulatedWeek_OpenRepairedAndMeanRepairTimePerDistrict()
    {
        var rows = await RowsAsync("lighting-outages");

        var expected = week.Week.Lamps.GroupBy(l => l.District)
            .Where(d => d.Count() >= 5)
            .Select(d =>
            {
                var episodes = SimulatedWeek.Outages.Where(o => o.Lamp.StartsWith(d.Key + "-", StringComparison.Ordinal)).ToList();
                var repaired = episodes.Where(o => o.To is not null).Select(o => (double)(o.To!.Value - o.From)).ToList();
                return $"{d.Key}|{d.Count()}|{episodes.Count(o => o.To is null)}|{repaired.Count}|{(repaired.Count > 0 ? Math.Round(repaired.Average(), 2).ToString(CultureInfo.InvariantCulture) : "")}";
            });
        Assert.Equal(expected, rows.Select(r => $"{S(r, "district")}|{S(r, "lamps")}|{S(r, "outages_open")}|{S(r, "outages_repaired")}|{S(r, "mean_hours_to_repair")}"));
        Assert.Equal(1, await SuppressedAsync("lighting-outages")); // d03: 2 lamps
    }

    [Fact]
    public async Task LightingEnergy_SimulatedWeek_SumOfMeterIncreasesPerDistrictAndMonth()
    {
        var rows = await RowsAsync("lighting-energy");

        var expected = week.Week.Lamps
            .SelectMany(l => l.Readings.GroupBy(r => r.Time.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture))
                .Select(m => (l.District, Month: m.Key, Spread: m.Max(r => r.EnergyKwh) - m.Min(r => r.EnergyKwh))))
            .GroupBy(x => (x.District, x.Month))
            .Where(g => g.Count() >= 5)
            .OrderBy(g => g.Key.Month, StringComparer.Ordinal).ThenBy(g => g.Key.District, StringComparer.Ordinal)
            .Select(g => (g.Key.District, g.Key.Month, Lamps: g.Count(), Kwh: Math.Round(g.Sum(x => x.Spread), 3)))
            .ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Select(e => $"{e.District}|{e.Month}|{e.Lamps}"), rows.Select(r => $"{S(r, "district")}|{S(r, "month")}|{S(r, "lamps_reporting")}"));
        foreach (var (e, r) in expected.Zip(rows))
        {
            Assert.Equal(e.Kwh, r.GetProperty("energy_kwh").GetDouble(), 3);
        }
    }

    [Fact]
    public async Task SchoolAir_SimulatedWeek_HoursAboveThresholdsPerSchoolAndWeek()
    {
        var rows = await RowsAsync("school-air");

        // Hourly mean per classroom, then the school's worst classroom per hour, counted per ISO week.
        var expected = week.Week.Classrooms
            .GroupBy(c => c.School)
            .Where(s => s.Count() >= 3)
            .SelectMany(s => s.SelectMany(c => c.Readings.GroupBy(r => Hour(r.Time)).Select(h => (Sensor: c.Id, Hour: h.Key, Mean: h.Average(r => r.Co2))))
                .GroupBy(x => Monday(x.Hour))
                .OrderBy(w => w.Key)
                .Select(w =>
                {
                    var worst = w.GroupBy(x => x.Hour).Select(h => h.Max(x => x.Mean)).ToList();
                    return $"{s.First().District}|{s.Key}|{ISOWeek.GetYear(w.Key):D4}-W{ISOWeek.GetWeekOfYear(w.Key):D2}|{w.Key:yyyy-MM-dd}|{w.Select(x => x.Sensor).Distinct().Count()}|{worst.Count}|{worst.Count(m => m > 1000)}|{worst.Count(m => m > 1500)}";
                }))
            .ToList();
        Assert.NotEmpty(expected);
        Assert.Equal(expected, rows.Select(r => string.Join('|', SchoolAirColumns.Select(c => S(r, c)))));
        Assert.Contains(rows, r => r.GetProperty("hours_above_1500_ppm").GetInt64() > 0);
        Assert.True(await SuppressedAsync("school-air") >= 1, "school-b has 2 sensors: below the minimum of 3");
    }

    [Fact]
    public async Task ServiceStatus_SimulatedWeek_ShareOnlinePerPublishedSector()
    {
        var rows = await RowsAsync("service-status");

        var lamps = week.Week.Lamps.Count;
        var sensors = week.Week.Classrooms.Count;
        Assert.Equal(
            [$"education|{sensors}|{sensors - 1}|{Math.Round(100.0 * (sensors - 1) / sensors, 1).ToString(CultureInfo.InvariantCulture)}", $"lighting|{lamps}|{lamps}|100"],
            rows.Select(r => $"{S(r, "sector")}|{S(r, "devices")}|{S(r, "online")}|{S(r, "share_online_pct")}"));
    }

    private async Task<List<JsonElement>> RowsAsync(string dataset)
    {
        using var client = week.Worker.CreateClient(null);
        var json = await client.GetFromJsonAsync<JsonElement>($"/open-data/{dataset}.json");
        return [.. json.GetProperty("rows").EnumerateArray()];
    }

    private async Task<int> SuppressedAsync(string dataset)
    {
        using var client = week.Worker.CreateClient(null);
        return (await client.GetFromJsonAsync<JsonElement>($"/open-data/{dataset}.json")).GetProperty("suppressed_groups").GetInt32();
    }

    private static string S(JsonElement row, string column) => row.GetProperty(column) switch
    {
        { ValueKind: JsonValueKind.Null } => "",
        { ValueKind: JsonValueKind.String } v => v.GetString()!,
        var v => v.GetRawText(),
    };

    private static DateTime Hour(DateTimeOffset t) => new(t.Year, t.Month, t.Day, t.Hour, 0, 0, DateTimeKind.Utc);

    private static DateTime Monday(DateTime t) => t.Date.AddDays(-(((int)t.DayOfWeek + 6) % 7));
}

using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Grafana;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Rollups;

namespace SmartCity.IntegrationTests.Rollups;

/// <summary>
/// Issue 20, "the rollups equal the raw data's aggregates over a simulated week": a week of lamp and
/// classroom data goes through the real broker and worker into the real InfluxDB, the worker's
/// clock (FakeTimeProvider) following the devices' week; then every rollup point is compared with
/// an InfluxQL aggregate over the raw data, grouped by InfluxDB itself (GROUP BY time() with the
/// city's tz()), not by the windows the worker computed.
/// </summary>
public sealed class RollupWeekTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan Step = TimeSpan.FromHours(6);
    private const string Tz = "tz('Europe/Amsterdam')";

    [Fact]
    public async Task Rollups_SimulatedWeekThroughBrokerAndWorker_EqualTheRawDatasAggregates()
    {
        await using var raw = await InfluxTestDatabase.CreateAsync();
        await using var rollups = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var clock = new FakeTimeProvider(SimulatedWeek.Start);
        await using var worker = await TestWorker.StartAsync(raw, clientId: clientId, time: clock, overrides: new Dictionary<string, string?>
        {
            ["Rollups:Enabled"] = "true",
            ["Rollups:Bucket"] = rollups.Name,
            // Each step publishes the last 6 hours of device time: that data is up to 6 hours late.
            ["Rollups:Lateness"] = "12:00:00",
            ["Rollups:Interval"] = "01:00:00",
            ["Rollups:Backfill"] = "00:00:00",
            ["Rollups:StateFile"] = Path.Combine(TestWorker.DataDirectory(clientId), "rollups.json"),
            ["Decoding:MaxMessageAge"] = "3650.00:00:00",
            // No timers on the fake clock in the write path (group commit, batch linger), and no
            // "quiet broker" watchdog: six hours of device time pass between two publishes.
            ["Influx:BatchLinger"] = "00:00:00",
            ["Spool:CommitInterval"] = "00:00:00",
            ["Spool:MaxAge"] = "3650.00:00:00",
            ["Mqtt:QuietTimeout"] = "00:00:00",
            ["PipelineReport:Interval"] = "00:00:00",
        });
        var service = worker.Services.GetRequiredService<RollupService>();
        var week = new SimulatedWeek(worker.TopicRoot);
        var published = 0;
        await using (var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("week-"), CancellationToken.None))
        {
            // Each batch is stored before the clock moves on: a write in flight while the fake clock
            // jumps hours would time out on it and wait for a retry that only a later jump releases.
            async Task PublishAndStoreAsync(IEnumerable<(string Topic, string Payload)> messages)
            {
                foreach (var (topic, payload) in messages)
                {
                    await publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(payload), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
                    published++;
                }

                var stored = published;
                // Acknowledged = durable in the spool; depth 0 = the InfluxDB sink stored it all.
                var s = await worker.Metrics.WaitUntilAsync(s => (s.Acknowledged >= stored && s.SpoolDepth == 0) || s.Rejected > 0, Timeout);
                Assert.True(s.Rejected == 0, "rejected: " + string.Join(" | ", worker.DeadLetters.Recent().Take(3)));
            }

            await PublishAndStoreAsync(week.Births());
            for (var from = SimulatedWeek.Start; from < SimulatedWeek.End; from += Step)
            {
                var to = from + Step < SimulatedWeek.End ? from + Step : SimulatedWeek.End;
                clock.SetUtcNow(to); // the worker's clock first: device times are never ahead of it
                await PublishAndStoreAsync(week.Messages(from, to).Select(m => (m.Topic, m.Payload)));
            }
        }

        // Past the last window's end plus the lateness: the rest of the week is rolled up.
        async Task<bool> WeekRolledUpAsync() =>
            await HasPointAsync(rollups, RollupMeasurements.ClassroomHourly, SimulatedWeek.End.AddHours(-1))
            && await HasPointAsync(rollups, RollupMeasurements.LampEnergyDaily, SimulatedWeek.End.AddDays(-1));
        for (var i = 0; i < 120 && !await WeekRolledUpAsync(); i++)
        {
            var ran = service.NextRunAsync();
            clock.Advance(TimeSpan.FromHours(1));
            await ran.WaitAsync(Timeout);
        }

        Assert.Equal(0, worker.Metrics.Snapshot().Rejected);
        // Every reading stored (none lost on the way), before anything is compared.
        Assert.Equal(
            SimulatedWeek.Rooms.Select(r => $"{r} {167 * 4}").Concat(SimulatedWeek.Lamps.Select(l => $"{l} {167 * 3}")),
            (await raw.RowsAsync($"SELECT count(\"co2_ppm\") FROM \"classroom_env\" WHERE {Week} GROUP BY \"device_id\""))
                .Concat(await raw.RowsAsync($"SELECT count(\"power_w\") FROM \"street_light\" WHERE {Week} GROUP BY \"device_id\""))
                .Select(r => $"{r.Tags["device_id"]} {r.Row["count"]}"));
        await ClassroomHours_EqualRawHourlyAggregates(raw, rollups);
        await LampAndDistrictDays_EqualRawMeterRiseAndPowerPerCityDay(raw, rollups);
        await AlertDays_EqualRawCountsPerCityDay(raw, rollups);
        await ReportsDashboard_EveryQuery_ReturnsDataFromTheRollups(rollups);
    }

    /// <summary>The Reports dashboard as provisioned (rendered), every variable, panel and annotation query over the week of rollups.</summary>
    private static async Task ReportsDashboard_EveryQuery_ReturnsDataFromTheRollups(InfluxTestDatabase rollups)
    {
        var reports = DashboardTests.LoadDashboards(await DashboardTests.RenderedAsync()).Single(d => d.ReadsRollups);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var v in reports.Variables)
        {
            var name = v.GetProperty("name").GetString()!;
            values[name] = v.GetProperty("type").GetString() == "query"
                ? v.GetProperty("allValue").GetString()!
                : v.GetProperty("current").GetProperty("value").GetString()!;
        }

        var queries = reports.Panels.Where(p => p.TryGetProperty("targets", out _))
            .SelectMany(p => p.GetProperty("targets").EnumerateArray().Select(t => (What: DashboardTests.Title(p), Query: t.GetProperty("query").GetString()!)))
            .Concat(reports.Variables.Where(v => v.GetProperty("type").GetString() == "query").Select(v => ("variable " + v.GetProperty("name").GetString(), v.GetProperty("query").GetString()!)))
            .Concat(reports.Annotations.Select(a => ("annotation", a.GetProperty("target").GetProperty("query").GetString()!)))
            .ToList();
        var failures = new List<string>();
        foreach (var (what, query) in queries)
        {
            var q = DashboardTests.Substitute(query, values, SimulatedWeek.Start.ToUnixTimeMilliseconds(), SimulatedWeek.End.ToUnixTimeMilliseconds() - 1, reports.Name);
            var (rows, error) = await DashboardTests.RowsOrError(rollups, q);
            if (error is not null || !rows.Any(r => r.Row.Any(c => c.Key != "time" && c.Value.ValueKind != JsonValueKind.Null)))
            {
                failures.Add($"{what}: {error ?? "no data"}: {q}");
            }
        }

        Assert.True(queries.Count >= 12, $"only {queries.Count} queries");
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures));
    }

    private static async Task<bool> HasPointAsync(InfluxTestDatabase db, string measurement, DateTimeOffset time) =>
        (await db.RowsAsync($"SELECT * FROM \"{measurement}\" WHERE time = {time.ToUnixTimeMilliseconds()}ms")).Count > 0;

    private static string Week => $"time >= {SimulatedWeek.Start.ToUnixTimeMilliseconds()}ms AND time < {SimulatedWeek.End.ToUnixTimeMilliseconds()}ms";

    private static async Task ClassroomHours_EqualRawHourlyAggregates(InfluxTestDatabase raw, InfluxTestDatabase rollups)
    {
        var expected = await raw.RowsAsync("SELECT mean(\"co2_ppm\"), max(\"co2_ppm\"), mean(\"occupancy\"), max(\"occupancy\"), count(\"co2_ppm\") "
            + $"FROM \"classroom_env\" WHERE {Week} GROUP BY time(1h), \"device_id\" fill(none)");
        var actual = Keyed(await rollups.RowsAsync($"SELECT * FROM \"{RollupMeasurements.ClassroomHourly}\""));
        Assert.Equal(SimulatedWeek.Rooms.Length * 167, expected.Count); // 7 days less the hour that does not exist
        var missing = expected.Where(e => !actual.ContainsKey((e.Tags["device_id"], e.Row["time"].GetInt64()))).Select(e => DateTimeOffset.FromUnixTimeMilliseconds(e.Row["time"].GetInt64()).ToString("O") + " " + e.Tags["device_id"]);
        Assert.True(expected.Count == actual.Count, "no rollup for: " + string.Join(", ", missing));
        foreach (var (tags, row) in expected)
        {
            var key = (tags["device_id"], row["time"].GetInt64());
            Assert.True(actual.TryGetValue(key, out var r), $"no rollup for {key}");
            Close(row["mean"], r["co2_mean_ppm"], key);
            Close(row["max"], r["co2_max_ppm"], key);
            Close(row["mean_1"], r["occupancy_mean"], key);
            Close(row["max_1"], r["occupancy_max"], key);
            Close(row["count"], r["samples"], key);
        }

        Assert.Equal(SimulatedWeek.Rooms.Length * 167 * 4, actual.Values.Sum(r => r["samples"].GetInt64()));
    }

    private static async Task LampAndDistrictDays_EqualRawMeterRiseAndPowerPerCityDay(InfluxTestDatabase raw, InfluxTestDatabase rollups)
    {
        var days = await raw.RowsAsync("SELECT first(\"energy_kwh\"), last(\"energy_kwh\"), mean(\"power_w\"), count(\"power_w\") "
            + $"FROM \"street_light\" WHERE {Week} GROUP BY time(1d), \"device_id\" fill(none) {Tz}");
        var lamps = Keyed(await rollups.RowsAsync($"SELECT * FROM \"{RollupMeasurements.LampEnergyDaily}\""));
        Assert.Equal(SimulatedWeek.Lamps.Length * 7, days.Count);
        Assert.Equal(days.Count, lamps.Count);
        var districts = new Dictionary<(string, long), double>();
        foreach (var lamp in days.GroupBy(d => d.Tags["device_id"]))
        {
            double? previousLast = null;
            foreach (var (_, row) in lamp.OrderBy(d => d.Row["time"].GetInt64()))
            {
                var key = (lamp.Key, row["time"].GetInt64());
                Assert.True(lamps.TryGetValue(key, out var r), $"no rollup for {key}");
                var last = row["last"].GetDouble();
                // The meter's rise: the day's last reading minus the previous day's (the first day: its first).
                var energy = last - (previousLast ?? row["first"].GetDouble());
                previousLast = last;
                Close(energy, r["energy_kwh"].GetDouble(), key);
                Close(row["mean"], r["power_mean_w"], key);
                Close(row["count"], r["samples"], key);
                var district = (SimulatedWeek.DistrictOf(lamp.Key), key.Item2);
                districts[district] = districts.GetValueOrDefault(district) + energy;
            }
        }

        // The city's 29 March is 23 hours long: its window says so.
        Assert.Contains(lamps.Values, r => r["window_h"].GetDouble() == 23);
        var stored = Keyed(await rollups.RowsAsync($"SELECT * FROM \"{RollupMeasurements.DistrictEnergyDaily}\""), "district");
        Assert.Equal(districts.Count, stored.Count);
        foreach (var (key, energy) in districts)
        {
            Close(energy, stored[key]["energy_kwh"].GetDouble(), key);
            Assert.Equal(3, stored[key]["lamps"].GetInt64());
        }

        Assert.True(districts.Values.All(e => e > 0), "the lamps burned every night");
    }

    private static async Task AlertDays_EqualRawCountsPerCityDay(InfluxTestDatabase raw, InfluxTestDatabase rollups)
    {
        var expected = await raw.RowsAsync($"SELECT count(\"alert_id\") FROM \"alert_transition\" WHERE \"transition\" = 'raised' AND {Week} "
            + $"GROUP BY time(1d), \"sector\", \"severity\" fill(none) {Tz}");
        var actual = await rollups.RowsAsync($"SELECT \"raised\" FROM \"{RollupMeasurements.AlertsDaily}\" WHERE {Week} AND \"raised\" > 0 GROUP BY \"sector\", \"severity\"");
        Assert.Contains(expected, e => e.Tags["sector"] == "lighting");
        Assert.Equal(
            expected.Select(e => $"{e.Row["time"]} {e.Tags["sector"]} {e.Tags["severity"]} {e.Row["count"]}").Order(StringComparer.Ordinal),
            actual.Select(a => $"{a.Row["time"]} {a.Tags["sector"]} {a.Tags["severity"]} {a.Row["raised"]}").Order(StringComparer.Ordinal));
    }

    /// <summary>Rollup rows by (tag, time).</summary>
    private static Dictionary<(string, long), Dictionary<string, JsonElement>> Keyed(
        List<(IReadOnlyDictionary<string, string> Tags, Dictionary<string, JsonElement> Row)> rows, string tag = "device_id") =>
        rows.ToDictionary(r => (r.Row[tag].GetString()!, r.Row["time"].GetInt64()), r => r.Row);

    private static void Close(JsonElement expected, JsonElement actual, object where)
    {
        if (expected.ValueKind == JsonValueKind.Null)
        {
            Assert.True(actual.ValueKind == JsonValueKind.Null, $"{where}: rollup has {actual}, raw has none");
            return;
        }

        Close(expected.GetDouble(), actual.GetDouble(), where);
    }

    private static void Close(double expected, double actual, object where) =>
        Assert.True(Math.Abs(expected - actual) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"{where}: rollup {actual}, raw {expected}");
}

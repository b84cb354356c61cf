using System.Globalization;
using System.Text.Json;
using SmartCity.Bench.Load;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Bench.Tests;

/// <summary>
/// How the e2e benchmark tells the measured load from the warm-up (DeviceTimeline): both are slices of one series of
/// current readings, made by the publisher's own code (Publisher.LoadSlice) and read back from the payloads' ts, as
/// the worker stores them; the measured range must count every measured reading and no warm-up reading.
/// </summary>
public sealed class DeviceTimelineTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 7, 21, 40, 17, 345, TimeSpan.Zero);

    /// <summary>Lamps, --warmup, --warmup-runs, warm-up runs made, --messages.</summary>
    public static TheoryData<int, long, int, int, long> Phases => new()
    {
        { 10_000, 20_000, 4, 4, 20_000 }, // bench/run.sh's fleet, every warm-up run made
        { 10_000, 20_000, 4, 1, 30_000 }, // the JIT quiet after one run: room left unused on the timeline
        { 200, 500, 2, 2, 3_000 }, // the CI smoke test: a warm-up not in whole readings of the fleet
        { 61_000, 61_000, 1, 1, 1_000 }, // lamps under 1 ms apart: the warm-up's last reading 0.98 ms before the measured first
    };

    [Theory]
    [MemberData(nameof(Phases))]
    public void MeasuredRange_WarmupRunsThenMeasuredRun_HoldsEveryMeasuredReadingAndNoWarmupReading(int lamps, long warmup, int maxRuns, int runs, long measured)
    {
        var timeline = new DeviceTimeline(lamps, warmup, maxRuns, measured, Now);
        var (warm, load) = Publish(timeline, lamps, runs, measured);
        var (fromMs, toMs) = timeline.MeasuredRange();

        Assert.Equal(measured, load.Count(r => r.TsMs >= fromMs && r.TsMs <= toMs));
        Assert.Equal(0, warm.Count(r => r.TsMs >= fromMs && r.TsMs <= toMs));
        // InfluxDB keeps one point per series and time: no two readings of the phase may share both.
        Assert.Equal(warm.Count + load.Count, warm.Concat(load).Select(r => (r.DeviceId, r.TsMs)).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Phases))]
    public void Slices_WarmupRunsThenMeasuredRun_EachLampReportsCurrentReadingsInOrderAndItsMeterNeverGoesBack(int lamps, long warmup, int maxRuns, int runs, long measured)
    {
        var (warm, load) = Publish(new DeviceTimeline(lamps, warmup, maxRuns, measured, Now), lamps, runs, measured);
        var all = warm.Concat(load).ToList();

        // Current: none in the future (Decoding:MaxClockSkew), all well within rollups' lateness (2 h) and lighting's 48 h.
        Assert.True(all.Max(r => r.TsMs) <= Now.ToUnixTimeMilliseconds(), "a reading in the future");
        Assert.True(all.Min(r => r.TsMs) >= Now.AddHours(-1).ToUnixTimeMilliseconds(), $"a reading older than an hour: {DateTimeOffset.FromUnixTimeMilliseconds(all.Min(r => r.TsMs)):O}");
        foreach (var lamp in all.GroupBy(r => r.DeviceId))
        {
            var readings = lamp.ToList(); // in publishing order: warm-up runs, then the measured run
            for (var i = 1; i < readings.Count; i++)
            {
                Assert.True(readings[i].TsMs > readings[i - 1].TsMs, $"{lamp.Key}: reading {i} at {readings[i].TsMs} not after {readings[i - 1].TsMs}");
                Assert.True(readings[i].EnergyKwh >= readings[i - 1].EnergyKwh, $"{lamp.Key}: energy meter back from {readings[i - 1].EnergyKwh} to {readings[i].EnergyKwh} kWh");
            }
        }
    }

    [Fact]
    public void MeasuredRange_WarmupShiftedDaysBack_StillHoldsEveryMeasuredReadingAndNoWarmupReading()
    {
        var timeline = new DeviceTimeline(200, 500, 2, 3_000, Now) { WarmupShift = TimeSpan.FromDays(3) };
        var (warm, load) = Publish(timeline, 200, 2, 3_000);
        var (fromMs, toMs) = timeline.MeasuredRange();

        Assert.True(warm.Max(r => r.TsMs) <= Now.AddDays(-3).ToUnixTimeMilliseconds(), "the shifted warm-up is not three days back");
        Assert.Equal(3_000, load.Count(r => r.TsMs >= fromMs && r.TsMs <= toMs));
        Assert.Equal(0, warm.Count(r => r.TsMs >= fromMs && r.TsMs <= toMs));
    }

    [Fact]
    public void NextWarmupFirst_MoreRunsThanTheTimelineHoldsOrAfterTheMeasuredRun_Throws()
    {
        var full = new DeviceTimeline(100, 250, 2, 1_000, Now);
        Assert.Equal((0L, 300L), (full.NextWarmupFirst(), full.NextWarmupFirst()));
        Assert.Throws<InvalidOperationException>(() => full.NextWarmupFirst());
        Assert.Equal(600L, full.MeasuredFirst());

        var closed = new DeviceTimeline(100, 250, 2, 1_000, Now);
        Assert.Equal(0L, closed.MeasuredFirst());
        Assert.Throws<InvalidOperationException>(() => closed.NextWarmupFirst());
    }

    private readonly record struct Reading(string DeviceId, long TsMs, double EnergyKwh);

    /// <summary>A phase as the bench publishes it: <paramref name="runs"/> warm-up runs, then the measured run, in that order.</summary>
    private static (List<Reading> Warm, List<Reading> Load) Publish(DeviceTimeline timeline, int lamps, int runs, long measured)
    {
        var warm = new List<Reading>();
        for (var run = 0; run < runs; run++)
        {
            warm.AddRange(Slice(timeline.WarmupStartMs, lamps, timeline.WarmupMessages, timeline.NextWarmupFirst()));
        }

        return (warm, Slice(timeline.StartMs, lamps, measured, timeline.MeasuredFirst()));
    }

    /// <summary>The publisher's load-mode slice: --start-ms <paramref name="startMs"/>, --first <paramref name="first"/>.</summary>
    private static List<Reading> Slice(long startMs, int lamps, long messages, long first)
    {
        var options = new LightingSimulationOptions
        {
            Broker = new BrokerEndpoint("127.0.0.1", 1883),
            Lamps = lamps,
            Messages = messages,
            Rate = 0,
            Start = DateTimeOffset.FromUnixTimeMilliseconds(startMs),
            Interval = DeviceTimeline.Interval,
        };
        return [.. Publisher.LoadSlice(options, first, Now).Messages.Select(Read)];
    }

    private static Reading Read(ScenarioMessage m)
    {
        Assert.Equal(MessageKind.Telemetry, m.Kind);
        using var json = JsonDocument.Parse(m.Payload);
        var ts = DateTimeOffset.Parse(json.RootElement.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture);
        return new Reading(m.DeviceId, ts.ToUnixTimeMilliseconds(), json.RootElement.GetProperty("energy_kwh").GetDouble());
    }
}

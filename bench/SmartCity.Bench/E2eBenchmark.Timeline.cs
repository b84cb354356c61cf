using System.Globalization;
using SmartCity.Bench.Load;

namespace SmartCity.Bench;

/// <summary>
/// Device time of the phases with a warm-up: each phase's warm-up runs and measured run are one series of
/// current readings (<see cref="DeviceTimeline"/>), and the measured load is counted by its own time range.
/// </summary>
public sealed partial class E2eBenchmark
{
    /// <summary>
    /// The variant setting that stamps the warm-up this many days earlier than its place on the timeline, as the bench did
    /// until session 11 (three days): a same-run comparison of what the warm-up's device time does to the measured window.
    /// </summary>
    public const string WarmupDaysBackSetting = "BENCH_WARMUP_DAYS_BACK";

    /// <summary>A new timeline for one phase: room for <paramref name="warmupRuns"/> --warmup runs, then the measured messages.</summary>
    private DeviceTimeline Timeline(int warmupRuns, long? measuredMessages = null, IReadOnlyDictionary<string, string>? variant = null) =>
        new(_s.Lamps, _s.Warmup, warmupRuns, measuredMessages ?? _s.Messages, DateTimeOffset.UtcNow)
        {
            WarmupShift = variant?.GetValueOrDefault(WarmupDaysBackSetting) is { } days ? TimeSpan.FromDays(double.Parse(days, CultureInfo.InvariantCulture)) : TimeSpan.Zero,
        };

    /// <summary>
    /// Street-light points stored in <paramref name="db"/> with a device time in the measured run's range: every measured
    /// reading and none of the warm-up's, which are earlier on the same series.
    /// </summary>
    private Task<long> CountMeasuredAsync(string db, DeviceTimeline timeline)
    {
        var (fromMs, toMs) = timeline.MeasuredRange();
        return _influx.CountStreetLightAsync(db, fromMs, toMs);
    }
}

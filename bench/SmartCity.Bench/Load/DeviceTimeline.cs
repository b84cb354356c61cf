using SmartCity.Simulators.Lighting;

namespace SmartCity.Bench.Load;

/// <summary>
/// One phase's device time. Its warm-up runs and its measured run publish consecutive slices of one
/// street-light series (message k is reading k / lamps of lamp k % lamps, <see cref="StreetLightFleet"/>),
/// so from the first warm-up message to the last measured one every lamp reports current readings in
/// order, its energy meter never going back. The measured load then takes the paths the warm-up took
/// (alert rules, lighting and rollups on fresh readings), and the runtime compiles them before the window
/// opens: a warm-up three days back (until session 11) left them to be compiled, and recompiled with
/// profile data, inside the max-rate window (31-47 % of it by the time-in-jit counter).
/// <para>
/// The series ends no later than the phase's start (no reading in the future: Decoding:MaxClockSkew),
/// with room for every warm-up run allowed; runs left unused only move the measured slice earlier. The
/// measured slice starts on a whole reading of every lamp, after the last warm-up run's last reading:
/// <see cref="MeasuredRange"/> holds every measured reading and none of the warm-up's, so a count of
/// the stored points in that range is the measured count (0 lost stays a real check).
/// </para>
/// </summary>
public sealed class DeviceTimeline
{
    /// <summary>A lamp's reporting interval in device time: the simulator's for an unpaced fleet (LightingSimulation.CreateFleet).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    private readonly int _lamps;
    private readonly long _warmupMessages;
    private readonly long _warmupStride;
    private readonly int _maxWarmupRuns;
    private readonly long _measuredMessages;
    private int _warmupRuns;
    private bool _measuredStarted;

    public DeviceTimeline(int lamps, long warmupMessages, int maxWarmupRuns, long measuredMessages, DateTimeOffset now)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lamps, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(warmupMessages);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWarmupRuns);
        ArgumentOutOfRangeException.ThrowIfNegative(measuredMessages);
        _lamps = lamps;
        // A warm-up run publishes at least one message (E2eBenchmark.WarmupAsync).
        _warmupMessages = Math.Max(1, warmupMessages);
        _maxWarmupRuns = maxWarmupRuns;
        _measuredMessages = measuredMessages;
        // Each warm-up run takes whole readings of every lamp, so the next run (and the measured one) starts on one.
        _warmupStride = Readings(_warmupMessages) * lamps;
        var readings = (maxWarmupRuns * Readings(_warmupMessages)) + Readings(measuredMessages);
        // Whole seconds, as the simulator's own series start; the last reading falls before now.
        StartMs = (now - (Interval * readings)).ToUnixTimeSeconds() * 1000;
    }

    /// <summary>Device time of message 0 (ms since the epoch): the publisher's --start-ms.</summary>
    public long StartMs { get; }

    /// <summary>
    /// How much earlier than their place on the timeline the warm-up runs are stamped (default none): a variant's
    /// comparison with a warm-up in the past (E2eBenchmark.WarmupDaysBackSetting). The measured range is unchanged.
    /// </summary>
    public TimeSpan WarmupShift { get; init; }

    /// <summary>Device time of message 0 for the warm-up runs (the warm-up publisher's --start-ms).</summary>
    public long WarmupStartMs => StartMs - (long)WarmupShift.TotalMilliseconds;

    /// <summary>Messages of each warm-up run.</summary>
    public long WarmupMessages => _warmupMessages;

    /// <summary>The next warm-up run's first message (the publisher's --first). Not after the measured run has begun.</summary>
    public long NextWarmupFirst()
    {
        if (_measuredStarted || _warmupRuns >= _maxWarmupRuns)
        {
            throw new InvalidOperationException($"warm-up run {_warmupRuns + 1} of at most {_maxWarmupRuns}, {(_measuredStarted ? "after the measured run" : "none left on the timeline")}");
        }

        return _warmupRuns++ * _warmupStride;
    }

    /// <summary>The measured run's first message (the publisher's --first): right after the warm-up runs made so far, which it closes.</summary>
    public long MeasuredFirst()
    {
        _measuredStarted = true;
        return _warmupRuns * _warmupStride;
    }

    /// <summary>
    /// Device times (ms since the epoch, both included) of the measured run's first and last reading.
    /// The warm-up's last reading is earlier than the first: it is a whole reading of every lamp before.
    /// </summary>
    public (long FromMs, long ToMs) MeasuredRange()
    {
        var first = MeasuredFirst();
        var last = first + Math.Max(1, _measuredMessages) - 1;
        return (TimestampMs(first), TimestampMs(last));
    }

    /// <summary>Device time of message <paramref name="k"/> (ms since the epoch), as the publisher stamps it.</summary>
    public long TimestampMs(long k) =>
        StreetLightFleet.TimestampOf(DateTimeOffset.FromUnixTimeMilliseconds(StartMs), Interval, _lamps, k).ToUnixTimeMilliseconds();

    private long Readings(long messages) => (messages + _lamps - 1) / _lamps;
}

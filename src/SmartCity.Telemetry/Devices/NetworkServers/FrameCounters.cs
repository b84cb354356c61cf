using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>What one uplink's frame counter says about the ones before it.</summary>
public readonly record struct FrameCounterCheck(long Lost, bool Reset);

/// <summary>
/// Uplinks lost on the radio, from gaps in each device's frame counter (fCnt). The network server
/// reports the full 32-bit counter. A counter that goes back is a new session (a join, or an ABP
/// device that rebooted): nothing can be said about the frames before it, so none are counted lost,
/// unless it is the 32-bit wrap (from near 2^32 to near 0), counted across the wrap. The same
/// counter again is a redelivery (TTS may send an uplink twice; MQTT at least once): not a loss.
/// Kept in memory: after a restart each device's first uplink sets the baseline.
/// </summary>
public sealed class FrameCounters
{
    private const long Wrap = 1L << 32;
    private const long WrapWindow = 1L << 16;
    private readonly ConcurrentDictionary<string, long> _last = new(StringComparer.Ordinal);

    public FrameCounterCheck Observe(string deviceId, long fCnt)
    {
        if (!_last.TryGetValue(deviceId, out var last))
        {
            _last[deviceId] = fCnt;
            return new(0, false);
        }

        if (fCnt == last)
        {
            return new(0, false);
        }

        _last[deviceId] = fCnt;
        if (fCnt > last)
        {
            return new(fCnt - last - 1, false);
        }

        return last >= Wrap - WrapWindow && fCnt < WrapWindow
            ? new(Wrap - last - 1 + fCnt, false)
            : new(0, true);
    }

    /// <summary>A join starts a new session whose counter starts again at 0: frames before the first one heard were lost.</summary>
    public void Reset(string deviceId) => _last[deviceId] = -1;
}

/// <summary>Network-server counters, meter <c>SmartCity.NetworkServers</c>.</summary>
public sealed class NetworkServerMetrics : IDisposable
{
    public const string MeterName = "SmartCity.NetworkServers";
    private readonly Meter _meter;
    private readonly Counter<long> _lost;
    private readonly Counter<long> _resets;
    private long _lostTotal;
    private long _resetTotal;

    public NetworkServerMetrics(IMeterFactory? meterFactory = null)
    {
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _lost = _meter.CreateCounter<long>("smartcity.lorawan.uplinks_lost", "{uplink}", "Uplinks missing from gaps in the devices' frame counters");
        _resets = _meter.CreateCounter<long>("smartcity.lorawan.fcnt_resets", "{reset}", "Frame counters that went back (a new session)");
    }

    public long LostUplinks => Interlocked.Read(ref _lostTotal);

    public long CounterResets => Interlocked.Read(ref _resetTotal);

    public void Record(FrameCounterCheck check, string network)
    {
        var tag = new KeyValuePair<string, object?>("network", network);
        if (check.Lost > 0)
        {
            Interlocked.Add(ref _lostTotal, check.Lost);
            _lost.Add(check.Lost, tag);
        }

        if (check.Reset)
        {
            Interlocked.Increment(ref _resetTotal);
            _resets.Add(1, tag);
        }
    }

    public void Dispose() => _meter.Dispose();
}

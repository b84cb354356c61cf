using System.Globalization;
using System.Runtime.InteropServices;
using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// Energy: each lamp's power between two readings, against the same hours at its full power (its
/// power divided by its dim level, the highest seen), summed per district, hour and month.
/// </summary>
public sealed partial class LightingService
{
    private static readonly TimeSpan KeepHours = TimeSpan.FromHours(48);
    private readonly Dictionary<(string District, int Year, int Month), string> _monthKeys = [];
    private readonly HashSet<(string District, DateTimeOffset Hour)> _touched = [];

    /// <summary>Energy per district for the month <paramref name="month"/> (yyyy-MM).</summary>
    public IReadOnlyList<EnergyBucket> EnergyOf(string month)
    {
        lock (_gate)
        {
            return [.. _state.Months.Values.Where(m => m.Hour.ToString("yyyy-MM", CultureInfo.InvariantCulture) == month).OrderBy(m => m.District, StringComparer.Ordinal)];
        }
    }

    private void Meter(string deviceId, string district, bool on, double? dim, double? power, DateTimeOffset ts)
    {
        if (power is not { } watts)
        {
            return;
        }

        // The lamp's record is updated in place: a reading per message used to be a new object (issue 25).
        var lamp = _lamps[deviceId];
        var reading = lamp.Reading;
        var known = reading.HasValue;
        var last = reading.GetValueOrDefault();
        var full = on && dim is > 1 && watts > 0 ? Math.Max(known ? last.FullW : 0, watts * 100 / dim.Value) : known ? last.FullW : 0;
        lamp.Reading = new LampReading(ts, watts, on, full);
        if (!known || ts <= last.At || ts - last.At > _options.EnergyMaxGap)
        {
            return;
        }

        var hours = (ts - last.At).TotalHours;
        var measured = last.PowerW * hours / 1000;
        var atFull = last.On ? Math.Max(last.FullW, last.PowerW) * hours / 1000 : 0;
        var hour = new DateTimeOffset(last.At.UtcDateTime.Date.AddHours(last.At.UtcDateTime.Hour), TimeSpan.Zero);
        Add(_state.Energy, district, hour, measured, atFull);
        var monthKey = MonthKey(district, hour);
        var month = _state.Months.GetValueOrDefault(monthKey) ?? new EnergyBucket(district, new DateTimeOffset(hour.Year, hour.Month, 1, 0, 0, 0, TimeSpan.Zero), 0, 0);
        _state.Months[monthKey] = month with { MeasuredKwh = month.MeasuredKwh + measured, FullKwh = month.FullKwh + atFull };
        _touched.Add((district, hour));
        _energyDirty = true;
    }

    /// <summary>The key of <see cref="LightingState.Months"/>, <c>district|yyyy-MM</c>, made once per district and month, not per reading.</summary>
    private string MonthKey(string district, DateTimeOffset hour)
    {
        ref var key = ref CollectionsMarshal.GetValueRefOrAddDefault(_monthKeys, (district, hour.Year, hour.Month), out _);
        return key ??= $"{district}|{hour:yyyy-MM}";
    }

    private static void Add(List<EnergyBucket> buckets, string district, DateTimeOffset hour, double measured, double atFull)
    {
        // A loop, not FindIndex: its lambda captured the hour and district, a closure and a delegate per reading.
        var i = buckets.Count - 1;
        while (i >= 0 && !(buckets[i].Hour == hour && buckets[i].District == district))
        {
            i--;
        }

        if (i < 0)
        {
            buckets.Add(new EnergyBucket(district, hour, measured, atFull));
        }
        else
        {
            buckets[i] = buckets[i] with { MeasuredKwh = buckets[i].MeasuredKwh + measured, FullKwh = buckets[i].FullKwh + atFull };
        }
    }

    /// <summary>
    /// The hours that changed, as <c>lighting_energy</c> points stamped with the hour: each write
    /// carries the hour's total so far, so InfluxDB keeps the latest (a rewrite, never a double count).
    /// </summary>
    private void FlushEnergy()
    {
        List<EnergyBucket> changed;
        lock (_gate)
        {
            var oldest = _time.GetUtcNow() - KeepHours;
            _state.Energy.RemoveAll(b => b.Hour < oldest);
            changed = [.. _state.Energy.Where(b => _touched.Contains((b.District, b.Hour)))];
            _touched.Clear();
        }

        foreach (var b in changed)
        {
            var point = new Point(EnergyMeasurement, b.Hour)
                .Tag("district", b.District)
                .Field("measured_kwh", b.MeasuredKwh)
                .Field("full_kwh", b.FullKwh)
                .Field("saved_kwh", Math.Max(0, b.FullKwh - b.MeasuredKwh))
                .Field("saved_money", (double)_options.TariffPerKwh * Math.Max(0, b.FullKwh - b.MeasuredKwh))
                .Field("currency", _options.Currency);
            _outputs.Writer.TryWrite(new Output(null, null, point));
        }
    }
}

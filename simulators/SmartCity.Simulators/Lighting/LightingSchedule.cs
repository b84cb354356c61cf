using SmartCity.Common;
using SmartCity.Simulators.Physics;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Lighting;

/// <summary>
/// When street lights burn and how bright: on at sunset, off at sunrise (astronomical clock, per
/// lamp shifted by its own small offset), dimmed in steps at local times of the night.
/// </summary>
public sealed class LightingSchedule(Scenario scenario)
{
    private readonly Dictionary<DateOnly, SolarDay> _days = [];
    private readonly double _duskLevel = scenario.Lighting.Dimming.FirstOrDefault(s => s.AtDusk) is { AtDusk: true } d ? d.Level : 100;

    /// <summary>The level a lamp starts the night at.</summary>
    public double DuskLevel => _duskLevel;

    public SolarDay Day(DateOnly date)
    {
        if (!_days.TryGetValue(date, out var day))
        {
            day = SolarClock.Day(date, scenario.Latitude, scenario.Longitude);
            _days[date] = day;
        }

        return day;
    }

    public bool IsOn(DateTimeOffset t, TimeSpan onShift = default, TimeSpan offShift = default)
    {
        var day = Day(SolarClock.SolarDate(t, scenario.Longitude));
        if (day.Sunrise is not { } rise || day.Sunset is not { } set)
        {
            return !day.AlwaysUp;
        }

        return t < rise + offShift || t >= set + onShift;
    }

    /// <summary>The switching moments (sunrise + offShift, sunset + onShift) in (from, to], in order.</summary>
    public void SwitchesBetween(DateTimeOffset from, DateTimeOffset to, TimeSpan onShift, TimeSpan offShift, List<DateTimeOffset> into)
    {
        var first = SolarClock.SolarDate(from, scenario.Longitude);
        var last = SolarClock.SolarDate(to, scenario.Longitude);
        for (var date = first.AddDays(-1); date <= last.AddDays(1); date = date.AddDays(1))
        {
            var day = Day(date);
            if (day.Sunrise is { } rise && rise + offShift > from && rise + offShift <= to)
            {
                into.Add(rise + offShift);
            }

            if (day.Sunset is { } set && set + onShift > from && set + onShift <= to)
            {
                into.Add(set + onShift);
            }
        }
    }

    /// <summary>Dim level in percent at <paramref name="t"/> (0 when off).</summary>
    public double Level(DateTimeOffset t, TimeSpan onShift = default, TimeSpan offShift = default)
    {
        if (!IsOn(t, onShift, offShift))
        {
            return 0;
        }

        // The night began at the last switch-on; a clock step counts if it came after that.
        var date = SolarClock.SolarDate(t, scenario.Longitude);
        var today = Day(date);
        var nightStart = today.Sunset is { } set && t >= set + onShift
            ? set + onShift
            : (Day(date.AddDays(-1)).Sunset is { } prev ? prev + onShift : t.AddDays(-1));
        var local = TimeZoneInfo.ConvertTime(t, scenario.TimeZone);
        var level = _duskLevel;
        var best = nightStart;
        foreach (var step in scenario.Lighting.Dimming)
        {
            if (step.AtDusk)
            {
                continue;
            }

            var occurrence = local.Date + step.At.ToTimeSpan();
            if (occurrence > local.DateTime)
            {
                occurrence = occurrence.AddDays(-1);
            }

            var utc = new DateTimeOffset(occurrence, local.Offset);
            if (utc >= best)
            {
                best = utc;
                level = step.Level;
            }
        }

        return level;
    }
}

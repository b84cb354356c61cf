using SmartCity.Common;

namespace SmartCity.Telemetry.Lighting.Schedules;

/// <summary>What a schedule asks for at one instant, and since when (the key of the step in force).</summary>
/// <param name="Since">When this state began: the scheduler sends it once per <paramref name="Since"/>.</param>
/// <param name="Until">When the next change is due.</param>
/// <param name="Reason">Why, for the command history: "sunset -00:10", "step 23:00", "sunrise".</param>
public sealed record ScheduleState(bool On, double DimPct, DateTimeOffset Since, DateTimeOffset Until, string Reason);

/// <summary>One stretch of a night at one level.</summary>
public sealed record NightSegment(DateTimeOffset From, DateTimeOffset To, double DimPct, string Reason);

/// <summary>
/// Turns a <see cref="LightingSchedule"/> into instants: sunset and sunrise from the city's position
/// (<see cref="SolarClock"/>), steps at local wall-clock times in the city's time zone (so a step at
/// 23:00 stays at 23:00 across a daylight-saving change). Pure: no clock of its own.
/// </summary>
public sealed class ScheduleCalculator(double latitude, double longitude, TimeZoneInfo zone)
{
    /// <summary>The state of <paramref name="schedule"/> at <paramref name="at"/>.</summary>
    public ScheduleState StateAt(LightingSchedule schedule, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var localDate = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, zone).DateTime);
        // The night that may contain 'at' started yesterday (after midnight) or today (after sunset).
        var previous = Night(schedule, localDate.AddDays(-1));
        var today = Night(schedule, localDate);
        foreach (var segment in previous.Concat(today))
        {
            if (at >= segment.From && at < segment.To)
            {
                return new ScheduleState(true, segment.DimPct, segment.From, segment.To, segment.Reason);
            }
        }

        // Daytime (or a midnight-sun day): off since the last night ended, until the next begins.
        var ended = previous.Concat(today).Where(s => s.To <= at).Select(s => s.To).DefaultIfEmpty(at.AddDays(-1)).Max();
        var next = today.Concat(Night(schedule, localDate.AddDays(1))).Where(s => s.From > at).Select(s => s.From).DefaultIfEmpty(at.AddDays(1)).Min();
        var reason = schedule.OffOffset == TimeSpan.Zero ? "sunrise" : $"sunrise {Offset(schedule.OffOffset)}";
        return new ScheduleState(false, 0, ended, next, reason);
    }

    /// <summary>The night that starts on local <paramref name="date"/>, one segment per level, in time order.</summary>
    public IReadOnlyList<NightSegment> Night(LightingSchedule schedule, DateOnly date)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        if (!NightBounds(schedule, date, out var start, out var end))
        {
            return [];
        }

        var exception = schedule.Exceptions.FirstOrDefault(e => e.Date == date);
        var level = exception?.OnLevel ?? schedule.OnLevel;
        var steps = exception?.Steps ?? schedule.Steps;
        var onReason = schedule.OnOffset == TimeSpan.Zero ? "sunset" : $"sunset {Offset(schedule.OnOffset)}";
        if (exception is not null)
        {
            onReason += $" ({exception.Name ?? "exception"} {date:yyyy-MM-dd})";
        }

        var segments = new List<NightSegment>();
        var from = start;
        var reason = onReason;
        foreach (var step in steps)
        {
            var at = FirstAfter(step.At, date, from);
            if (at >= end)
            {
                // A step that falls after sunrise (short summer nights): the lamps are already off.
                continue;
            }

            segments.Add(new NightSegment(from, at, level, reason));
            (from, level, reason) = (at, step.DimPct, $"step {step.At:HH\\:mm}");
        }

        segments.Add(new NightSegment(from, end, level, reason));
        return segments;
    }

    private bool NightBounds(LightingSchedule schedule, DateOnly date, out DateTimeOffset start, out DateTimeOffset end)
    {
        var day = SolarClock.Day(date, latitude, longitude);
        var next = SolarClock.Day(date.AddDays(1), latitude, longitude);
        if (day.Sunset is { } sunset && next.Sunrise is { } sunrise)
        {
            (start, end) = (sunset + schedule.OnOffset, sunrise + schedule.OffOffset);
            return end > start;
        }

        // Polar night: on from local noon to the next local noon; midnight sun: no night at all.
        (start, end) = (ToUtc(date, new TimeOnly(12, 0)), ToUtc(date.AddDays(1), new TimeOnly(12, 0)));
        return !day.AlwaysUp && day.Sunset is null;
    }

    /// <summary>The first instant after <paramref name="after"/> at which the city's clocks show <paramref name="time"/>.</summary>
    private DateTimeOffset FirstAfter(TimeOnly time, DateOnly nightDate, DateTimeOffset after)
    {
        for (var d = nightDate; d <= nightDate.AddDays(2); d = d.AddDays(1))
        {
            var candidate = ToUtc(d, time);
            if (candidate > after)
            {
                return candidate;
            }
        }

        return DateTimeOffset.MaxValue;
    }

    /// <summary>
    /// A local wall-clock time as an instant. A time skipped by the spring change (02:30) happens
    /// when the clocks jump (it is never skipped); a time repeated in autumn happens the first time.
    /// </summary>
    public DateTimeOffset ToUtc(DateOnly date, TimeOnly time)
    {
        var local = date.ToDateTime(time, DateTimeKind.Unspecified);
        TimeSpan offset;
        if (zone.IsInvalidTime(local))
        {
            offset = zone.GetUtcOffset(local.AddHours(-3));
        }
        else if (zone.IsAmbiguousTime(local))
        {
            offset = zone.GetAmbiguousTimeOffsets(local).Max();
        }
        else
        {
            offset = zone.GetUtcOffset(local);
        }

        return new DateTimeOffset(local.Ticks - offset.Ticks, TimeSpan.Zero);
    }

    private static string Offset(TimeSpan offset) => (offset < TimeSpan.Zero ? "-" : "+") + offset.Duration().ToString(@"hh\:mm", System.Globalization.CultureInfo.InvariantCulture);
}

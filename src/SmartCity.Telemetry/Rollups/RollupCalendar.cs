namespace SmartCity.Telemetry.Rollups;

/// <summary>One rollup window, [Start, End) in UTC.</summary>
public readonly record struct RollupWindow(DateTimeOffset Start, DateTimeOffset End)
{
    public TimeSpan Length => End - Start;
}

/// <summary>
/// The city's clock for rollups. A day is the city's local calendar day (Alerting:TimeZone), not the
/// UTC day: a report of "energy on 29 March" means the city's 29 March, so a daily window is 23 or
/// 25 hours long on the days the clocks change. An hour starts on the city's full hour (the UTC hour
/// wherever the offset is whole hours; :30 past it in India). Windows are explicit UTC ranges, so
/// the queries need no <c>tz()</c> clause, which not every InfluxDB version answers alike.
/// </summary>
public sealed class RollupCalendar(TimeZoneInfo zone)
{
    public TimeZoneInfo Zone { get; } = zone;

    /// <summary>The hour window that contains <paramref name="at"/>.</summary>
    public RollupWindow HourOf(DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, Zone);
        var start = at.ToUniversalTime() - new TimeSpan(0, local.Minute, local.Second) - TimeSpan.FromTicks(local.Ticks % TimeSpan.TicksPerSecond);
        return new RollupWindow(start, start.AddHours(1));
    }

    /// <summary>The city's calendar day that contains <paramref name="at"/>.</summary>
    public RollupWindow DayOf(DateTimeOffset at)
    {
        var date = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(at, Zone).DateTime);
        return new RollupWindow(StartOfDay(date), StartOfDay(date.AddDays(1)));
    }

    /// <summary>The window of <paramref name="cadence"/> that follows <paramref name="window"/>.</summary>
    public RollupWindow Next(RollupCadence cadence, RollupWindow window) =>
        cadence == RollupCadence.Hourly ? HourOf(window.End) : DayOf(window.End);

    public RollupWindow Containing(RollupCadence cadence, DateTimeOffset at) =>
        cadence == RollupCadence.Hourly ? HourOf(at) : DayOf(at);

    /// <summary>The city's local date of a day window.</summary>
    public DateOnly DateOf(RollupWindow day) => DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(day.Start, Zone).DateTime);

    /// <summary>
    /// The first instant of a local date. Where the clocks jump at midnight (midnight does not exist)
    /// the day starts at the jump; where midnight happens twice, at its first occurrence.
    /// </summary>
    private DateTimeOffset StartOfDay(DateOnly date)
    {
        var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        while (Zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        var offset = Zone.IsAmbiguousTime(local) ? Zone.GetAmbiguousTimeOffsets(local).Max() : Zone.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }
}

/// <summary>How long a rollup window is.</summary>
public enum RollupCadence
{
    Hourly,
    Daily,
}

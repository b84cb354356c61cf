using SmartCity.Common;

namespace SmartCity.Telemetry.Alerting;

/// <summary>
/// Answers "does this schedule apply at this instant?" for the city: night and day by the sun at
/// the city's coordinates, school and opening hours in its local time (so daylight saving time
/// moves them with the clocks, as people do).
/// </summary>
public sealed class AlertCalendar
{
    private readonly AlertingOptions _options;
    private readonly TimeZoneInfo _zone;

    public AlertCalendar(AlertingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        if (!AlertingOptions.TryFindTimeZone(options.TimeZone, out _zone))
        {
            throw new ArgumentException($"Alerting:TimeZone '{options.TimeZone}' is not a known time zone", nameof(options));
        }
    }

    public bool Applies(AlertSchedule schedule, DateTimeOffset at) => schedule switch
    {
        AlertSchedule.Always => true,
        AlertSchedule.Day => SolarClock.IsSunUp(at, _options.Latitude, _options.Longitude),
        AlertSchedule.Night => !SolarClock.IsSunUp(at, _options.Latitude, _options.Longitude),
        AlertSchedule.SchoolHours => IsSchoolHours(at),
        AlertSchedule.ClosedHours => !IsOpen(at),
        _ => false,
    };

    public bool IsSchoolHours(DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, _zone);
        var hours = _options.SchoolHours;
        var time = TimeOnly.FromDateTime(local.DateTime);
        return hours.EffectiveDays.Contains(local.DayOfWeek)
            && !hours.IsHoliday(DateOnly.FromDateTime(local.DateTime))
            && time >= hours.Start && time < hours.End;
    }

    public bool IsOpen(DateTimeOffset at)
    {
        var local = TimeZoneInfo.ConvertTime(at, _zone);
        return _options.OpeningHours.IsOpen(local.DayOfWeek, TimeOnly.FromDateTime(local.DateTime));
    }
}

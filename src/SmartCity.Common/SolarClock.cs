namespace SmartCity.Common;

/// <summary>Sunrise, solar noon and sunset of one solar day at one place, in UTC.</summary>
/// <param name="Sunrise">Null when the sun does not rise that day (polar night) or does not set (midnight sun).</param>
/// <param name="Sunset">Null in the same cases as <paramref name="Sunrise"/>.</param>
/// <param name="AlwaysUp">True for midnight sun (no sunrise or sunset because the sun stays up).</param>
public readonly record struct SolarDay(DateOnly Date, DateTimeOffset SolarNoon, DateTimeOffset? Sunrise, DateTimeOffset? Sunset, bool AlwaysUp);

/// <summary>
/// Astronomical clock: the NOAA solar position algorithm (the NOAA "General Solar Position
/// Calculations" / solar calculator spreadsheet, after Meeus). One copy for the worker and the
/// simulators: the alerting engine's day-burning rule needs the same answer as the simulated
/// lamps. Accuracy: well under a minute between +-60 degrees of
/// latitude for years 1900-2100 (tested against the U.S. Naval Observatory's tables).
/// Sunrise and sunset are the moments the sun's upper limb touches a level horizon with
/// standard refraction: a solar elevation of -0.833 degrees.
/// </summary>
public static class SolarClock
{
    /// <summary>Elevation of the sun's centre at sunrise and sunset (34' refraction + 16' semi-diameter).</summary>
    public const double HorizonDegrees = -0.833;

    private const double Deg = Math.PI / 180;

    /// <summary>The sun's elevation above the horizon, in degrees, at <paramref name="time"/>, without refraction.</summary>
    public static double ElevationDegrees(DateTimeOffset time, double latitude, double longitude)
    {
        var p = SunAt(time);
        var utcMinutes = time.UtcDateTime.TimeOfDay.TotalMinutes;
        var trueSolarMinutes = Mod(utcMinutes + p.EquationOfTimeMinutes + (4 * longitude), 1440);
        var hourAngle = (trueSolarMinutes / 4) - 180;
        var cosZenith = (Math.Sin(latitude * Deg) * Math.Sin(p.DeclinationDegrees * Deg))
            + (Math.Cos(latitude * Deg) * Math.Cos(p.DeclinationDegrees * Deg) * Math.Cos(hourAngle * Deg));
        return 90 - (Math.Acos(Math.Clamp(cosZenith, -1, 1)) / Deg);
    }

    /// <summary>True while the sun is above the horizon as sunrise and sunset define it.</summary>
    public static bool IsSunUp(DateTimeOffset time, double latitude, double longitude) =>
        ElevationDegrees(time, latitude, longitude) > HorizonDegrees;

    /// <summary>
    /// The solar day that contains local solar noon of <paramref name="date"/> at
    /// <paramref name="longitude"/> (so, for any place, the sunrise and sunset that belong together).
    /// </summary>
    public static SolarDay Day(DateOnly date, double latitude, double longitude)
    {
        // Start from mean solar noon, then refine each event at its own time: declination and the
        // equation of time change over the day, and one refinement is worth ~20 s at mid-latitudes.
        var meanNoon = new DateTimeOffset(date.ToDateTime(new TimeOnly(12, 0)), TimeSpan.Zero).AddMinutes(-4 * longitude);
        var noon = meanNoon;
        for (var i = 0; i < 2; i++)
        {
            noon = NoonNear(noon, longitude);
        }

        var rise = EventNear(noon.AddHours(-6), latitude, longitude, rising: true, out var alwaysUp, out var alwaysDown);
        if (rise is null)
        {
            return new SolarDay(date, noon, null, null, alwaysUp && !alwaysDown);
        }

        var set = EventNear(noon.AddHours(6), latitude, longitude, rising: false, out _, out _);
        return new SolarDay(date, noon, rise, set, false);
    }

    private static DateTimeOffset NoonNear(DateTimeOffset estimate, double longitude)
    {
        var p = SunAt(estimate);
        var minutes = 720 - (4 * longitude) - p.EquationOfTimeMinutes;
        // Minutes count from UTC midnight of the local solar date, also near the date line.
        return DayStart(estimate.AddMinutes(4 * longitude)).AddMinutes(minutes);
    }

    private static DateTimeOffset? EventNear(DateTimeOffset estimate, double latitude, double longitude, bool rising, out bool alwaysUp, out bool alwaysDown)
    {
        alwaysUp = alwaysDown = false;
        var t = estimate;
        for (var i = 0; i < 4; i++)
        {
            var p = SunAt(t);
            var cosH = (Math.Cos((90 - HorizonDegrees) * Deg) / (Math.Cos(latitude * Deg) * Math.Cos(p.DeclinationDegrees * Deg)))
                - (Math.Tan(latitude * Deg) * Math.Tan(p.DeclinationDegrees * Deg));
            if (cosH < -1)
            {
                alwaysUp = true;
                return null;
            }

            if (cosH > 1)
            {
                alwaysDown = true;
                return null;
            }

            var hourAngle = Math.Acos(cosH) / Deg;
            var noonMinutes = 720 - (4 * longitude) - p.EquationOfTimeMinutes;
            var minutes = noonMinutes + ((rising ? -4 : 4) * hourAngle);
            // Same solar day as the estimate: the event lies within 12 h of that day's solar noon.
            var day = DayStart(estimate.AddMinutes(4 * longitude));
            var next = day.AddMinutes(minutes);
            if (Math.Abs((next - t).TotalSeconds) < 1)
            {
                return next;
            }

            t = next;
        }

        return t;
    }

    private static DateTimeOffset DayStart(DateTimeOffset t) => new(t.UtcDateTime.Date, TimeSpan.Zero);

    /// <summary>The local mean solar date of <paramref name="time"/>: the date whose sunrise and sunset bracket its daylight.</summary>
    public static DateOnly SolarDate(DateTimeOffset time, double longitude) =>
        DateOnly.FromDateTime(time.UtcDateTime.AddMinutes(4 * longitude));

    private readonly record struct SunPosition(double DeclinationDegrees, double EquationOfTimeMinutes);

    /// <summary>Declination and equation of time (NOAA spreadsheet formulas, columns G..V).</summary>
    private static SunPosition SunAt(DateTimeOffset time)
    {
        var julianDay = (time.UtcTicks - new DateTimeOffset(2000, 1, 1, 12, 0, 0, TimeSpan.Zero).UtcTicks) / (double)TimeSpan.TicksPerDay + 2451545.0;
        var jc = (julianDay - 2451545.0) / 36525.0;
        var meanLong = Mod(280.46646 + (jc * (36000.76983 + (jc * 0.0003032))), 360);
        var meanAnomaly = 357.52911 + (jc * (35999.05029 - (0.0001537 * jc)));
        var eccentricity = 0.016708634 - (jc * (0.000042037 + (0.0000001267 * jc)));
        var center = (Math.Sin(meanAnomaly * Deg) * (1.914602 - (jc * (0.004817 + (0.000014 * jc)))))
            + (Math.Sin(2 * meanAnomaly * Deg) * (0.019993 - (0.000101 * jc)))
            + (Math.Sin(3 * meanAnomaly * Deg) * 0.000289);
        var trueLong = meanLong + center;
        var omega = 125.04 - (1934.136 * jc);
        var apparentLong = trueLong - 0.00569 - (0.00478 * Math.Sin(omega * Deg));
        var meanObliquity = 23 + ((26 + ((21.448 - (jc * (46.815 + (jc * (0.00059 - (jc * 0.001813)))))) / 60)) / 60);
        var obliquity = meanObliquity + (0.00256 * Math.Cos(omega * Deg));
        var declination = Math.Asin(Math.Sin(obliquity * Deg) * Math.Sin(apparentLong * Deg)) / Deg;
        var y = Math.Tan(obliquity / 2 * Deg) * Math.Tan(obliquity / 2 * Deg);
        var l0 = meanLong * Deg;
        var m = meanAnomaly * Deg;
        var eot = 4 / Deg * ((y * Math.Sin(2 * l0))
            - (2 * eccentricity * Math.Sin(m))
            + (4 * eccentricity * y * Math.Sin(m) * Math.Cos(2 * l0))
            - (0.5 * y * y * Math.Sin(4 * l0))
            - (1.25 * eccentricity * eccentricity * Math.Sin(2 * m)));
        return new SunPosition(declination, eot);
    }

    private static double Mod(double x, double m) => ((x % m) + m) % m;
}

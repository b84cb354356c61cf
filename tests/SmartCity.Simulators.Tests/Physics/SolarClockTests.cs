using SmartCity.Common;

namespace SmartCity.Simulators.Tests.Physics;

public class SolarClockTests
{
    // U.S. Naval Observatory, Astronomical Applications Dept., "Rise and Set for the Sun for 2008",
    // location W121 55, N37 24 (Cupertino, CA), zone 8h west of Greenwich (PST all year), first of each month.
    private const double Latitude = 37.4;
    private const double Longitude = -(121 + (55 / 60.0));

    public static TheoryData<int, string, string> Usno2008 => new()
    {
        { 1, "07:22", "17:00" },
        { 2, "07:11", "17:32" },
        { 3, "06:38", "18:02" },
        { 4, "05:52", "18:31" },
        { 5, "05:12", "18:58" },
        { 6, "04:48", "19:23" },
        { 7, "04:51", "19:32" },
        { 8, "05:12", "19:15" },
        { 9, "05:39", "18:36" },
        { 10, "06:04", "17:50" },
        { 11, "06:33", "17:09" },
        { 12, "07:04", "16:50" },
    };

    [Theory]
    [MemberData(nameof(Usno2008))]
    public void Day_UsnoAlmanac2008_SunriseAndSunsetWithinOneMinute(int month, string rise, string set)
    {
        var date = new DateOnly(2008, month, 1);
        var pst = TimeSpan.FromHours(-8);

        var day = SolarClock.Day(date, Latitude, Longitude);

        var expectedRise = new DateTimeOffset(date.ToDateTime(TimeOnly.Parse(rise, System.Globalization.CultureInfo.InvariantCulture)), pst);
        var expectedSet = new DateTimeOffset(date.ToDateTime(TimeOnly.Parse(set, System.Globalization.CultureInfo.InvariantCulture)), pst);
        Assert.InRange((day.Sunrise!.Value - expectedRise).TotalSeconds, -60, 60);
        Assert.InRange((day.Sunset!.Value - expectedSet).TotalSeconds, -60, 60);
    }

    [Fact]
    public void ElevationDegrees_AtComputedSunriseAndSunset_IsTheStandardHorizon()
    {
        var day = SolarClock.Day(new DateOnly(2026, 11, 28), 52.0907, 5.1214);

        Assert.InRange(SolarClock.ElevationDegrees(day.Sunrise!.Value, 52.0907, 5.1214), -0.9, -0.76);
        Assert.InRange(SolarClock.ElevationDegrees(day.Sunset!.Value, 52.0907, 5.1214), -0.9, -0.76);
        Assert.False(SolarClock.IsSunUp(day.Sunrise.Value.AddMinutes(-2), 52.0907, 5.1214));
        Assert.True(SolarClock.IsSunUp(day.Sunrise.Value.AddMinutes(2), 52.0907, 5.1214));
        Assert.True(SolarClock.IsSunUp(day.Sunset.Value.AddMinutes(-2), 52.0907, 5.1214));
        Assert.False(SolarClock.IsSunUp(day.Sunset.Value.AddMinutes(2), 52.0907, 5.1214));
    }

    [Fact]
    public void Day_PolarNightAndMidnightSun_NoRiseOrSetAndTheRightSide()
    {
        var winter = SolarClock.Day(new DateOnly(2026, 12, 21), 69.65, 18.96);
        var summer = SolarClock.Day(new DateOnly(2026, 6, 21), 69.65, 18.96);

        Assert.Null(winter.Sunrise);
        Assert.False(winter.AlwaysUp);
        Assert.Null(summer.Sunset);
        Assert.True(summer.AlwaysUp);
    }

    [Fact]
    public void Day_FarEastAndWest_EventsBelongToTheLocalDate()
    {
        // Auckland (UTC+13 in summer): its 2026-12-01 sunrise is on the UTC evening of 30 November.
        var auckland = SolarClock.Day(new DateOnly(2026, 12, 1), -36.85, 174.76);
        Assert.Equal(new DateOnly(2026, 11, 30), DateOnly.FromDateTime(auckland.Sunrise!.Value.UtcDateTime));
        Assert.True(auckland.Sunrise < auckland.SolarNoon && auckland.SolarNoon < auckland.Sunset);
        Assert.InRange((auckland.Sunset!.Value - auckland.Sunrise.Value).TotalHours, 14, 15);
    }
}

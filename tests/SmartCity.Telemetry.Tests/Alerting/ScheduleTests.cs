using SmartCity.Common;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Rules;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>Night and day by the sun in Utrecht; school hours and opening hours in Amsterdam time.</summary>
public sealed class ScheduleTests
{
    private static readonly DateOnly Date = new(2026, 11, 28);
    private static readonly SolarDay Utrecht = SolarClock.Day(Date, AlertingDefaults.Latitude, AlertingDefaults.Longitude);
    private static readonly DateTimeOffset Sunset = Utrecht.Sunset!.Value;
    private static readonly DateTimeOffset Sunrise = Utrecht.Sunrise!.Value;
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static CityRules Immediate(string rule) => new() { Overrides = [new CityRuleOverride { Rule = rule, For = TimeSpan.Zero }] };

    [Fact]
    public void SolarClock_Utrecht20261128_SunsetIsLateAfternoon()
    {
        // Sanity of the fixture: Utrecht sets around 16:30 local (15:30 UTC) at the end of November.
        Assert.InRange(Sunset, new DateTimeOffset(2026, 11, 28, 15, 15, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 28, 15, 45, 0, TimeSpan.Zero));
    }

    [Fact]
    public void NightRule_OneMinuteBeforeSunset_DoesNotApply_OneMinuteAfter_Raises()
    {
        using var kit = new AlertTestKit(start: Sunset - Minute, rules: Immediate("lamp_dark_at_night"));
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0), "streetlight"));
        kit.Advance(2 * Minute);

        var raised = Assert.Single(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0), "streetlight"));
        Assert.Equal("lamp_dark_at_night", raised.Alert.Rule);
    }

    [Fact]
    public void NightRule_ForDuration_CountsFromTheFirstNightReading()
    {
        // Dark since before sunset: the 10 minutes start at night, not at the first dark reading.
        using var kit = new AlertTestKit(start: Sunset - TimeSpan.FromMinutes(5));
        var transitions = new List<AlertTransition>();
        for (var m = -5; m <= 10; m++)
        {
            kit.Time.SetUtcNow(Sunset + TimeSpan.FromMinutes(m));
            transitions.AddRange(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0), "streetlight"));
        }

        Assert.Empty(transitions);
        kit.Time.SetUtcNow(Sunset + TimeSpan.FromMinutes(11));
        Assert.Single(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0), "streetlight"));
    }

    [Fact]
    public void DayRule_AroundSunrise_AppliesOnlyOnceTheSunIsUp()
    {
        // day_burning: lamp on while the sun is up (for 30 min by default; immediate here).
        using var kit = new AlertTestKit(start: Sunrise - Minute, rules: Immediate("day_burning"));
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("on", true), "streetlight"));
        kit.Advance(2 * Minute);
        Assert.Equal("day_burning", Assert.Single(kit.Observe(Lamp(kit.Now).Field("on", true), "streetlight")).Alert.Rule);
    }

    [Fact]
    public void NightRule_OpenAtSunrise_StaysOpenWhileItCannotClear_ClearsWhenPowerReturns()
    {
        // A dark lamp draws no power by day either: that is not a repair, so the alert stays open.
        using var kit = new AlertTestKit(start: Sunset + TimeSpan.FromMinutes(30), rules: Immediate("lamp_dark_at_night"));
        var raised = Assert.Single(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0), "streetlight"));
        var nextDay = SolarClock.Day(Date.AddDays(1), AlertingDefaults.Latitude, AlertingDefaults.Longitude);
        kit.Time.SetUtcNow(nextDay.Sunrise!.Value + TimeSpan.FromHours(2));
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0), "streetlight"));
        kit.Time.SetUtcNow(nextDay.Sunset!.Value + Minute);
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0), "streetlight")); // same alert, no duplicate
        kit.Advance(Minute);
        var resolved = Assert.Single(kit.Observe(Lamp(kit.Now).Field("power_w", 40.0), "streetlight"), t => t.Alert.Rule == "lamp_dark_at_night");
        Assert.Equal((AlertTransitionKind.Resolved, raised.Alert.Id), (resolved.Kind, resolved.Alert.Id));
    }

    [Fact]
    public void Calendar_SchoolHours_LocalTimeWeekdaysAndHolidays()
    {
        var options = new AlertingOptions
        {
            SchoolHours =
            {
                Holidays = [new DateOnly(2026, 11, 27)],
                HolidayPeriods = [new DatePeriod { From = new DateOnly(2026, 12, 19), To = new DateOnly(2027, 1, 3) }],
            },
        };
        var calendar = new AlertCalendar(options);
        var amsterdam = TimeSpan.FromHours(1); // CET in November

        Assert.False(calendar.IsSchoolHours(new DateTimeOffset(2026, 11, 25, 8, 29, 0, amsterdam)));
        Assert.True(calendar.IsSchoolHours(new DateTimeOffset(2026, 11, 25, 8, 30, 0, amsterdam)));
        Assert.True(calendar.IsSchoolHours(new DateTimeOffset(2026, 11, 25, 15, 29, 0, amsterdam)));
        Assert.False(calendar.IsSchoolHours(new DateTimeOffset(2026, 11, 25, 15, 30, 0, amsterdam)));
        Assert.False(calendar.IsSchoolHours(new DateTimeOffset(2026, 11, 27, 10, 0, 0, amsterdam))); // holiday (a Friday)
        Assert.False(calendar.IsSchoolHours(new DateTimeOffset(2026, 11, 28, 10, 0, 0, amsterdam))); // Saturday
        Assert.False(calendar.IsSchoolHours(new DateTimeOffset(2026, 12, 22, 10, 0, 0, amsterdam))); // Christmas break
        Assert.True(calendar.IsSchoolHours(new DateTimeOffset(2027, 1, 4, 10, 0, 0, amsterdam)));
        // 07:45 UTC is 08:45 in Amsterdam: school, though not yet by UTC.
        Assert.True(calendar.IsSchoolHours(new DateTimeOffset(2026, 11, 25, 7, 45, 0, TimeSpan.Zero)));
        // Summer time: 06:45 UTC on 2026-06-10 is 08:45 CEST.
        Assert.True(calendar.IsSchoolHours(new DateTimeOffset(2026, 6, 10, 6, 45, 0, TimeSpan.Zero)));
    }

    [Theory]
    [InlineData("2026-11-25T10:00:00+01:00", true)] // Wednesday in school hours
    [InlineData("2026-11-27T10:00:00+01:00", false)] // the holiday
    [InlineData("2026-11-25T19:00:00+01:00", false)] // evening
    public void SchoolHoursRule_Co2High_RaisesOnlyInSchoolHours(string start, bool raises)
    {
        using var kit = new AlertTestKit(
            start: DateTimeOffset.Parse(start, System.Globalization.CultureInfo.InvariantCulture),
            configure: o => o.SchoolHours.Holidays = [new DateOnly(2026, 11, 27)]);
        var transitions = new List<AlertTransition>();
        for (var i = 0; i < 3; i++)
        {
            transitions.AddRange(kit.Observe(Classroom(kit.Now).Field("co2_ppm", 1600.0 + i), "classroom_env"));
            kit.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Equal(raises, transitions.Any(t => t.Alert.Rule == "co2_high"));
    }

    [Fact]
    public void ClosedHoursRule_MotionAfterHoursOnly()
    {
        var open = new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.FromHours(1));
        using var kit = new AlertTestKit(start: open);
        Assert.Empty(kit.Observe(MotionEvent(kit.Now, "motion"), "motion_detector"));
        kit.Time.SetUtcNow(open.AddHours(10)); // 20:00 local
        Assert.Equal("motion_after_hours", Assert.Single(kit.Observe(MotionEvent(kit.Now, "motion"), "motion_detector")).Alert.Rule);
    }

    [Fact]
    public void ClosedHoursRule_ExtraOpeningWindow_SaturdayMorningIsOpen_SaturdayEveningIsNot()
    {
        var saturday = new DateTimeOffset(2026, 11, 28, 11, 0, 0, TimeSpan.FromHours(1)); // Saturday 11:00 in Utrecht
        using var kit = new AlertTestKit(start: saturday, configure: o => o.OpeningHours.Extra.Add(new OpeningWindow { Days = [DayOfWeek.Saturday], Start = new(10, 0), End = new(14, 0) }));
        Assert.Empty(kit.Observe(MotionEvent(kit.Now, "motion"), "motion_detector"));
        kit.Time.SetUtcNow(saturday.AddHours(4)); // 15:00 local: closed
        Assert.Equal("motion_after_hours", Assert.Single(kit.Observe(MotionEvent(kit.Now, "motion"), "motion_detector")).Alert.Rule);

        var bad = new AlertingOptions();
        bad.OpeningHours.Extra.Add(new OpeningWindow { Days = [], Start = new(14, 0), End = new(10, 0) });
        var problems = bad.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(bad)).Select(r => string.Join(",", r.MemberNames)).ToList();
        Assert.Contains("OpeningHours:Extra:0:End", problems);
        Assert.Contains("OpeningHours:Extra:0:Days", problems);
    }
}

using SmartCity.Common;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Telemetry.Tests.Lighting;

public sealed class ScheduleCalculatorTests
{
    // Utrecht, the demo city (Alerting's defaults).
    private const double Lat = 52.0907;
    private const double Lon = 5.1214;
    private static readonly TimeZoneInfo Amsterdam = TimeZoneInfo.FindSystemTimeZoneById("Europe/Amsterdam");
    private readonly ScheduleCalculator _calc = new(Lat, Lon, Amsterdam);

    private static readonly LightingSchedule Night = new()
    {
        Id = "d01-night",
        District = "d01",
        OnOffset = TimeSpan.FromMinutes(-10),
        OffOffset = TimeSpan.FromMinutes(10),
        OnLevel = 100,
        Steps = [new DimStep(new TimeOnly(23, 0), 50), new DimStep(new TimeOnly(5, 0), 100)],
    };

    [Fact]
    public void Night_WinterDay_SunsetFullThen23hHalfThen05hFullUntilSunrise()
    {
        var date = new DateOnly(2026, 12, 7);
        var segments = _calc.Night(Night, date);

        Assert.Equal(3, segments.Count);
        Assert.Equal(SolarClock.Day(date, Lat, Lon).Sunset!.Value.AddMinutes(-10), segments[0].From);
        Assert.Equal((100d, 50d, 100d), (segments[0].DimPct, segments[1].DimPct, segments[2].DimPct));
        // 23:00 local in winter is 22:00 UTC; 05:00 local the next morning is 04:00 UTC.
        Assert.Equal(new DateTimeOffset(2026, 12, 7, 22, 0, 0, TimeSpan.Zero), segments[1].From);
        Assert.Equal(new DateTimeOffset(2026, 12, 8, 4, 0, 0, TimeSpan.Zero), segments[2].From);
        Assert.Equal(SolarClock.Day(date.AddDays(1), Lat, Lon).Sunrise!.Value.AddMinutes(10), segments[2].To);
    }

    [Fact]
    public void Night_SummerSunriseBeforeFiveStep_StepAfterSunriseDropped()
    {
        // Midsummer in Utrecht: sunrise ~05:20 CEST, lamps off ~05:30; a 06:00 step comes after sunrise:
        // it is dropped, and the 23:00 level lasts until the lamps switch off.
        var schedule = Night with { Steps = [new DimStep(new TimeOnly(23, 0), 50), new DimStep(new TimeOnly(6, 0), 100)] };
        var segments = _calc.Night(schedule, new DateOnly(2026, 6, 21));

        Assert.Equal(2, segments.Count);
        Assert.Equal(50, segments[^1].DimPct);
        Assert.Equal(SolarClock.Day(new DateOnly(2026, 6, 22), Lat, Lon).Sunrise!.Value.AddMinutes(10), segments[^1].To);
    }

    [Fact]
    public void Night_SpringForward_StepAtSkippedHourHappensWhenClocksJump()
    {
        // 2027-03-28: clocks go 02:00 CET -> 03:00 CEST. A step at 02:30 happens at 01:00 UTC (03:00 CEST).
        var schedule = Night with { Steps = [new DimStep(new TimeOnly(2, 30), 30)] };
        var segments = _calc.Night(schedule, new DateOnly(2027, 3, 27));

        Assert.Equal(2, segments.Count);
        Assert.Equal(new DateTimeOffset(2027, 3, 28, 1, 30, 0, TimeSpan.Zero), segments[1].From);
    }

    [Fact]
    public void Night_FallBack_StepsStayAtLocalWallClock()
    {
        // 2026-10-25: clocks go 03:00 CEST -> 02:00 CET. 23:00 the evening before is CEST (21:00 UTC),
        // 05:00 the morning after is CET (04:00 UTC): the night is one hour longer, the steps stay local.
        var segments = _calc.Night(Night, new DateOnly(2026, 10, 24));

        Assert.Equal(new DateTimeOffset(2026, 10, 24, 21, 0, 0, TimeSpan.Zero), segments[1].From);
        Assert.Equal(new DateTimeOffset(2026, 10, 25, 4, 0, 0, TimeSpan.Zero), segments[2].From);
    }

    [Fact]
    public void Night_FallBackAmbiguousTime_FirstOccurrence()
    {
        var at = _calc.ToUtc(new DateOnly(2026, 10, 25), new TimeOnly(2, 30));
        Assert.Equal(new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero), at);
    }

    [Fact]
    public void Night_ExceptionDate_ReplacesLevelsThatNightOnly()
    {
        var schedule = Night with { Exceptions = [new ExceptionDate { Date = new DateOnly(2026, 12, 31), Name = "New Year's Eve", Steps = [] }] };

        var festival = _calc.Night(schedule, new DateOnly(2026, 12, 31));
        var normal = _calc.Night(schedule, new DateOnly(2027, 1, 1));

        Assert.Single(festival);
        Assert.Equal(100, festival[0].DimPct);
        Assert.Contains("New Year's Eve", festival[0].Reason, StringComparison.Ordinal);
        Assert.Equal(3, normal.Count);
    }

    [Fact]
    public void StateAt_AcrossADay_OffInDaylightOnAtNightWithStepKeys()
    {
        var noon = new DateTimeOffset(2026, 12, 7, 11, 0, 0, TimeSpan.Zero);
        var lateEvening = new DateTimeOffset(2026, 12, 7, 23, 30, 0, TimeSpan.Zero);
        var earlyMorning = new DateTimeOffset(2026, 12, 8, 2, 0, 0, TimeSpan.Zero);

        var day = _calc.StateAt(Night, noon);
        var late = _calc.StateAt(Night, lateEvening);
        var early = _calc.StateAt(Night, earlyMorning);

        Assert.False(day.On);
        Assert.True(day.Until > noon && day.Until < lateEvening);
        Assert.Equal((true, 50d), (late.On, late.DimPct));
        // The same step (since 23:00 local) after midnight: the scheduler sends it once.
        Assert.Equal(late.Since, early.Since);
    }

    [Fact]
    public void Check_BadLevelsAndDuplicates_AllNamed()
    {
        LightingSchedule[] schedules =
        [
            Night with { OnLevel = 120 },
            Night with { Id = "x", District = null, Steps = [new DimStep(new TimeOnly(23, 0), -1)] },
        ];

        var errors = ScheduleLoader.Check(schedules).ToList();

        Assert.Contains(errors, e => e.Contains("onLevel must be 0..100", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'x': names a district or a site", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("dimPct must be 0..100", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_ShippedExampleFile_Valid()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "..", "deploy", "lighting", "schedules.json");
        var (schedules, errors) = ScheduleLoader.Load(path);

        Assert.Empty(errors);
        Assert.NotEmpty(schedules);
    }
}

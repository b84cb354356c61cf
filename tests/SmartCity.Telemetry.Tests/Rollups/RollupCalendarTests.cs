using SmartCity.Telemetry.Rollups;

namespace SmartCity.Telemetry.Tests.Rollups;

/// <summary>Window boundaries: the city's day (not the UTC day), its clock changes, and full local hours.</summary>
public sealed class RollupCalendarTests
{
    private static readonly RollupCalendar Amsterdam = new(TimeZoneInfo.FindSystemTimeZoneById("Europe/Amsterdam"));

    private static DateTimeOffset Utc(string s) => DateTimeOffset.Parse(s, System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void DayOf_WinterEvening_IsTheCitysDayFromLocalMidnight()
    {
        // 23:30 UTC on 15 January is 00:30 on the 16th in Amsterdam (UTC+1): it belongs to the city's 16th.
        var day = Amsterdam.DayOf(Utc("2026-01-15T23:30:00Z"));

        Assert.Equal(Utc("2026-01-15T23:00:00Z"), day.Start);
        Assert.Equal(Utc("2026-01-16T23:00:00Z"), day.End);
        Assert.Equal(new DateOnly(2026, 1, 16), Amsterdam.DateOf(day));
    }

    [Fact]
    public void DayOf_ClocksGoForward_Is23Hours()
    {
        var day = Amsterdam.DayOf(Utc("2026-03-29T12:00:00Z"));

        Assert.Equal(Utc("2026-03-28T23:00:00Z"), day.Start);
        Assert.Equal(Utc("2026-03-29T22:00:00Z"), day.End);
        Assert.Equal(TimeSpan.FromHours(23), day.Length);
    }

    [Fact]
    public void DayOf_ClocksGoBack_Is25Hours()
    {
        var day = Amsterdam.DayOf(Utc("2026-10-25T12:00:00Z"));

        Assert.Equal(Utc("2026-10-24T22:00:00Z"), day.Start);
        Assert.Equal(Utc("2026-10-25T23:00:00Z"), day.End);
        Assert.Equal(TimeSpan.FromHours(25), day.Length);
    }

    [Fact]
    public void Next_HoursThroughTheLongDay_Are25ContiguousHoursEndingAtTheDaysEnd()
    {
        var day = Amsterdam.DayOf(Utc("2026-10-25T12:00:00Z"));
        var hours = new List<RollupWindow> { Amsterdam.HourOf(day.Start) };
        while (hours[^1].End < day.End)
        {
            hours.Add(Amsterdam.Next(RollupCadence.Hourly, hours[^1]));
        }

        Assert.Equal(25, hours.Count);
        Assert.All(hours, h => Assert.Equal(TimeSpan.FromHours(1), h.Length));
        Assert.All(hours.Zip(hours.Skip(1)), p => Assert.Equal(p.First.End, p.Second.Start));
        Assert.Equal(day.End, hours[^1].End);
    }

    [Fact]
    public void Next_DaysThroughAWeekWithTheChange_AreContiguous()
    {
        var day = Amsterdam.DayOf(Utc("2026-03-26T12:00:00Z"));
        var lengths = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            var next = Amsterdam.Next(RollupCadence.Daily, day);
            Assert.Equal(day.End, next.Start);
            lengths.Add(day.Length.TotalHours);
            day = next;
        }

        Assert.Equal([24, 24, 24, 23, 24, 24, 24], lengths);
    }

    [Fact]
    public void HourOf_HalfHourOffset_StartsOnTheCitysFullHour()
    {
        var kolkata = new RollupCalendar(TimeZoneInfo.FindSystemTimeZoneById("Asia/Kolkata"));

        // 10:10 UTC is 15:40 in India (UTC+5:30): the city's hour 15:00-16:00 is 09:30-10:30 UTC.
        var hour = kolkata.HourOf(Utc("2026-01-15T10:10:00Z"));

        Assert.Equal(Utc("2026-01-15T09:30:00Z"), hour.Start);
        Assert.Equal(Utc("2026-01-15T10:30:00Z"), hour.End);
    }

    [Fact]
    public void HourOf_OnABoundary_IsTheHourThatStartsThere()
    {
        var hour = Amsterdam.HourOf(Utc("2026-01-15T10:00:00Z"));

        Assert.Equal(Utc("2026-01-15T10:00:00Z"), hour.Start);
    }

    [Fact]
    public void DayOf_ZoneWhoseMidnightIsSkipped_StartsWhenTheClockJumps()
    {
        // Chile moves its clocks at midnight: on that day 00:00 does not exist and the day starts at 01:00.
        var zone = TimeZoneInfo.FindSystemTimeZoneById("America/Santiago");
        var calendar = new RollupCalendar(zone);
        var date = Enumerable.Range(0, 366).Select(i => new DateOnly(2026, 1, 1).AddDays(i))
            .First(d => zone.IsInvalidTime(d.ToDateTime(TimeOnly.MinValue)));

        var day = calendar.DayOf(new DateTimeOffset(date.ToDateTime(new TimeOnly(12, 0)), zone.GetUtcOffset(date.ToDateTime(new TimeOnly(12, 0)))));

        Assert.Equal(new TimeOnly(1, 0), TimeOnly.FromDateTime(TimeZoneInfo.ConvertTime(day.Start, zone).DateTime));
        Assert.Equal(TimeSpan.FromHours(23), day.Length);
        Assert.Equal(date, calendar.DateOf(day));
    }
}

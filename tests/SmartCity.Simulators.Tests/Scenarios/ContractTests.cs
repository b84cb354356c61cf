using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Tests.Scenarios;

public class ContractTests
{
    [Fact]
    public void DemoCity_EveryMessageFollowsTheDeviceContract()
    {
        var scenario = Streams.Load("demo-city");
        var stream = Streams.Generate(scenario, Streams.SchoolDay);

        var wellFormed = stream.Where(m => m.Fault != FaultKind.MalformedBurst).ToList();
        var problems = wellFormed.Select(m => (m, Problem: ContractCheck.Violation(m))).Where(p => p.Problem is not null).Take(5).ToList();
        Assert.True(problems.Count == 0, string.Join("\n", problems.Select(p => $"{p.m.Topic}: {p.Problem}: {System.Text.Encoding.UTF8.GetString(p.m.Payload)}")));

        // Every type, telemetry and events, is in the stream; every device was born first.
        Assert.Equal(DeviceTypes.All.Count, wellFormed.Select(m => m.DeviceType).Distinct().Count());
        Assert.Contains(wellFormed, m => m.DeviceType == DeviceType.DoorContact && m.Kind == MessageKind.Event);
        Assert.Contains(wellFormed, m => m.DeviceType == DeviceType.MotionDetector && m.Kind == MessageKind.Event);
        Assert.Contains(wellFormed, m => m.DeviceType == DeviceType.AlarmPanel && m.Kind == MessageKind.Event);
        var births = stream.TakeWhile(m => m.Action == ConnectionAction.Birth).ToList();
        Assert.Equal(scenario.TotalDevices, births.Count);
        Assert.Equal(scenario.TotalDevices, births.Select(m => m.DeviceId).Distinct().Count());
        Assert.Equal(stream.Select(m => m.DeviceId).Distinct().Count(), births.Count);
    }

    [Fact]
    public void AutoStart_RunEndsBeforeNowAtLocalMidnight_NoTimestampInTheFuture()
    {
        var scenario = Streams.Load("demo-city");
        var now = new DateTimeOffset(2026, 7, 14, 9, 17, 0, TimeSpan.Zero);

        var start = scenario.ResolveStart(now);
        var stream = Streams.Generate(scenario, start);

        Assert.True(start + scenario.Duration <= now);
        Assert.True(now - (start + scenario.Duration) < TimeSpan.FromDays(1));
        Assert.Equal(TimeSpan.Zero, TimeZoneInfo.ConvertTime(start, scenario.TimeZone).TimeOfDay);
        Assert.All(stream.Where(m => m.Fault != FaultKind.ClockSkew), m => Assert.True(m.Timestamp <= now && m.SimTime <= now));
    }

    [Fact]
    public void Pacing_AcceleratedDayTakesTwoMinutesAndNeverRunsAheadOfTheWallClock()
    {
        var wallStart = new DateTimeOffset(2026, 11, 28, 12, 0, 0, TimeSpan.Zero);
        var start = wallStart.AddDays(-1);

        Assert.Equal(TimeSpan.FromMinutes(2), ScenarioRunner.Due(start.AddDays(1), start, wallStart, 720));
        Assert.Equal(TimeSpan.FromMinutes(1), ScenarioRunner.Due(start.AddHours(12), start, wallStart, 720));
        // A live run past its catch-up point follows the wall clock.
        Assert.Equal(TimeSpan.FromHours(1), ScenarioRunner.Due(wallStart.AddHours(1), start, wallStart, 720));
        for (var h = 0; h <= 48; h++)
        {
            var sim = start.AddHours(h);
            Assert.True(sim <= wallStart + ScenarioRunner.Due(sim, start, wallStart, 720));
        }
    }
}

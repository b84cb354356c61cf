using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Tests.Scenarios;

public class PhysicsTests
{
    // The USNO's place and date of SolarClockTests: sunrise 04:48, sunset 19:23 PST on 2008-06-01.
    private const string LampAtCupertino = """
        {
          "name": "physics-lamp",
          "seed": 3,
          "city": { "latitude": 37.4, "longitude": -121.9166667, "timeZone": "America/Los_Angeles" },
          "devices": { "streetlight": 3 },
          "time": { "start": "2008-06-01T00:00:00-07:00", "duration": "1.00:00:00" },
          "intervals": { "streetlight": "00:15:00" },
          "lighting": { "switchJitter": "00:00:00",
                        "dimming": [ { "at": "dusk", "level": 100 }, { "at": "00:00", "level": 50 }, { "at": "05:00", "level": 100 } ] }
        }
        """;

    [Fact]
    public void StreetLight_KnownDateAndPlace_SwitchesOffAtSunriseAndOnAtSunsetWithinOneMinute()
    {
        var scenario = Scenario.Parse(LampAtCupertino);
        var stream = Streams.Generate(scenario, scenario.Start!.Value);

        var lamp = stream.Of("lamp-000001", "telemetry").Select(m => (m.Timestamp, On: m.Json().GetProperty("on").GetBoolean())).ToList();
        var off = lamp.Zip(lamp.Skip(1)).First(p => p.First.On && !p.Second.On).Second.Timestamp;
        var on = lamp.Zip(lamp.Skip(1)).First(p => !p.First.On && p.Second.On).Second.Timestamp;

        var pst = TimeSpan.FromHours(-8);
        Assert.InRange((off - new DateTimeOffset(2008, 6, 1, 4, 48, 0, pst)).TotalSeconds, -60, 60);
        Assert.InRange((on - new DateTimeOffset(2008, 6, 1, 19, 23, 0, pst)).TotalSeconds, -60, 60);
        // Between two periodic readings 15 minutes apart: the controller reported the switch when it happened.
        Assert.NotEqual(0, off.Minute % 15 + off.Second);
    }

    [Fact]
    public void StreetLight_PowerFollowsDimLevel()
    {
        var scenario = Scenario.Parse(LampAtCupertino);
        var stream = Streams.Generate(scenario, scenario.Start!.Value);

        foreach (var id in new[] { "lamp-000001", "lamp-000002", "lamp-000003" })
        {
            var readings = stream.Of(id, "telemetry").Select(m => m.Json()).Select(j => (
                Dim: j.GetProperty("dim_pct").GetDouble(),
                Power: j.GetProperty("power_w").GetDouble(),
                Energy: j.GetProperty("energy_kwh").GetDouble())).ToList();
            var full = readings.Where(r => r.Dim == 100).Select(r => r.Power).ToList();
            var half = readings.Where(r => r.Dim == 50).Select(r => r.Power).ToList();
            Assert.NotEmpty(full);
            Assert.NotEmpty(half);
            Assert.All(readings.Where(r => r.Dim == 0), r => Assert.Equal(0, r.Power));
            // Power is proportional to the level, with metering noise of about 1%.
            Assert.InRange(half.Average() / full.Average(), 0.47, 0.53);
            var nominal = full.Average();
            Assert.All(full, p => Assert.InRange(p, nominal * 0.95, nominal * 1.05));
            Assert.Contains(nominal, new[] { 30.0, 40, 60, 90 }.Select(w => Math.Abs(w - nominal) < 1.5 ? nominal : -1));
            // The energy counter never runs backwards, and grows by about the power integrated over the night.
            Assert.True(readings.Zip(readings.Skip(1)).All(p => p.Second.Energy >= p.First.Energy));
        }
    }

    [Fact]
    public void Classroom_Co2RisesWhileOccupiedAndFallsAfter()
    {
        var scenario = Scenario.Parse("""
            {
              "name": "physics-classroom",
              "city": { "latitude": 52.0907, "longitude": 5.1214, "timeZone": "Europe/Amsterdam" },
              "devices": { "classroom_env": 1 },
              "time": { "start": "2026-11-25T00:00:00+01:00", "duration": "1.00:00:00" },
              "schools": { "classroomsPerSchool": 1, "occupancy": 1.0, "lessons": [ { "from": "09:00", "to": "10:30" } ] }
            }
            """);
        var stream = Streams.Generate(scenario, scenario.Start!.Value);
        var local = TimeSpan.FromHours(1);
        var co2 = stream.Of("cls-000001", "telemetry").ToDictionary(
            m => m.Timestamp.ToOffset(local).TimeOfDay,
            m => (Co2: m.Json().GetProperty("co2_ppm").GetDouble(), People: m.Json().GetProperty("occupancy").GetInt32()));
        double At(int h, int m) => co2[new TimeSpan(h, m, 0)].Co2;

        Assert.Equal(0, co2[new TimeSpan(8, 55, 0)].People);
        Assert.InRange(co2[new TimeSpan(9, 30, 0)].People, 18, 31);
        // Occupied: rising all lesson long, towards an equilibrium set by the ventilation (~1100-1300 ppm).
        Assert.True(At(9, 30) > At(9, 0) + 200, $"{At(9, 0)} -> {At(9, 30)}");
        Assert.True(At(10, 25) > At(9, 30), $"{At(9, 30)} -> {At(10, 25)}");
        Assert.InRange(At(10, 25), 900, 1500);
        // Empty and ventilated: falling back towards outdoor air.
        Assert.True(At(11, 0) < At(10, 30) - 200, $"{At(10, 30)} -> {At(11, 0)}");
        Assert.InRange(At(13, 0), 380, 480);
        Assert.InRange(At(3, 0), 380, 480);
    }

    [Fact]
    public void Classroom_WeekendAndHoliday_NobodyAndOutdoorCo2()
    {
        var scenario = Streams.Load("education-faults") with { Faults = [], ExpectedAlerts = [] };
        var saturday = new DateTimeOffset(2026, 11, 28, 0, 0, 0, TimeSpan.FromHours(1));

        var stream = Streams.Generate(scenario, saturday);

        Assert.All(stream.Where(m => m.Kind() == "telemetry").Select(m => m.Json()), j =>
        {
            Assert.Equal(0, j.GetProperty("occupancy").GetInt32());
            Assert.InRange(j.GetProperty("co2_ppm").GetDouble(), 350, 520);
        });
    }
}

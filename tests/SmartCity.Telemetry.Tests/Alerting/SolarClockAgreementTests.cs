using Sim = SmartCity.Simulators.Physics;
using Engine = SmartCity.Telemetry.Alerting;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>Until the two copies are deduplicated, the engine and the simulated lamps must agree on the sun.</summary>
public sealed class SolarClockAgreementTests
{
    [Theory]
    [InlineData(2026, 11, 28, 52.0907, 5.1214)] // Utrecht, the demo city
    [InlineData(2026, 6, 21, 52.0907, 5.1214)]
    [InlineData(2026, 3, 20, -33.8688, 151.2093)] // Sydney, east of the date line's side
    public void Day_BothCopies_GiveTheSameSunriseAndSunset(int year, int month, int day, double lat, double lon)
    {
        var date = new DateOnly(year, month, day);
        var sim = Sim.SolarClock.Day(date, lat, lon);
        var ours = Engine.SolarClock.Day(date, lat, lon);

        Assert.Equal((sim.Sunrise, sim.Sunset, sim.SolarNoon), (ours.Sunrise, ours.Sunset, ours.SolarNoon));
        Assert.Equal(Sim.SolarClock.IsSunUp(sim.Sunset!.Value.AddMinutes(-1), lat, lon), Engine.SolarClock.IsSunUp(ours.Sunset!.Value.AddMinutes(-1), lat, lon));
        Assert.True(Engine.SolarClock.IsSunUp(ours.Sunset!.Value.AddMinutes(-1), lat, lon));
        Assert.False(Engine.SolarClock.IsSunUp(ours.Sunset!.Value.AddMinutes(1), lat, lon));
    }
}

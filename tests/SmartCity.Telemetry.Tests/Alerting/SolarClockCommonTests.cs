using SmartCity.Common;
using SmartCity.Telemetry.Alerting;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The engine and the simulated lamps agree on the sun because they run the same code: one SolarClock
/// in SmartCity.Common. A second copy in either assembly would bring back the drift this replaced.
/// </summary>
public sealed class SolarClockCommonTests
{
    [Fact]
    public void SolarClock_WorkerAndSimulators_UseTheOneCommonCopy()
    {
        var simulators = typeof(SmartCity.Simulators.Lighting.LightingSchedule).Assembly;
        var telemetry = typeof(AlertCalendar).Assembly;

        foreach (var assembly in new[] { simulators, telemetry })
        {
            Assert.Contains(assembly.GetReferencedAssemblies(), a => a.Name == typeof(SolarClock).Assembly.GetName().Name);
            Assert.DoesNotContain(assembly.GetTypes(), t => t.Name is nameof(SolarClock) or nameof(SolarDay));
        }
    }
}

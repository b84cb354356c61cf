using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Tests.Scenarios;

public class ScenarioFileTests
{
    public static TheoryData<string> Files() => new(Streams.ScenarioFiles().Select(Path.GetFileNameWithoutExtension).Select(n => n!));

    [Theory]
    [MemberData(nameof(Files))]
    public void ScenarioFile_LoadsAndItsExpectedAlertsMatchItsFaults(string name)
    {
        var scenario = Streams.Load(name);
        var layout = new CityLayout(scenario);

        foreach (var fault in scenario.Faults)
        {
            // Every fault is expected to raise its rule on its device, from its start.
            Assert.Contains(scenario.ExpectedAlerts, a => a.Fault == fault.Id && a.Rule == fault.Kind.DefaultRule() && a.Device == fault.DeviceId && a.At == fault.At);
        }

        foreach (var alert in scenario.ExpectedAlerts)
        {
            var fault = Assert.Single(scenario.Faults, f => f.Id == alert.Fault);
            if (alert.Rule == "intrusion_alarm")
            {
                // The alarm comes from the panel of the forced door's building.
                Assert.Equal(FaultKind.DoorForced, fault.Kind);
                Assert.True(DeviceTypes.TryParseId(alert.Device, out var type, out var panel));
                Assert.Equal(DeviceType.AlarmPanel, type);
                Assert.Equal(layout.BuildingOf(DeviceType.DoorContact, fault.DeviceIndex), panel);
            }
        }
    }

    [Fact]
    public void Parse_InvalidScenario_ListsEveryProblem()
    {
        var ex = Assert.Throws<ScenarioException>(() => Scenario.Parse("""
            {
              "city": { "latitude": 95, "longitude": 5, "timeZone": "Mars/Olympus" },
              "devices": { "streetlight": 10, "toaster": 2 },
              "time": { "duration": "40.00:00:00" },
              "faults": [ { "kind": "lamp_failure", "device": "lamp-000011", "at": "01:00" },
                          { "kind": "co2_spike", "device": "lamp-000001", "at": "01:00" } ],
              "expectedAlerts": [ { "rule": "kettle_boiling", "device": "lamp-000001", "at": "01:00" } ]
            }
            """));

        Assert.Contains(ex.Errors, e => e.StartsWith("city.latitude", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("city.timeZone", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("devices.toaster", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("time.duration", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("has 10 streetlight devices", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Contains("co2_spike applies to classroom_env", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.StartsWith("expectedAlerts[0].rule", StringComparison.Ordinal));
    }

    [Fact]
    public void Load100k_HasOneHundredThousandDevices() => Assert.Equal(100_000, Streams.Load("load-100k").TotalDevices);
}

/// <summary>Alone (no other test allocating meanwhile), so the heap measurement is the generator's.</summary>
[CollectionDefinition(nameof(MemoryMeasurement), DisableParallelization = true)]
public sealed class MemoryMeasurement;

[Collection(nameof(MemoryMeasurement))]
public class GeneratorMemoryTests
{
    [Fact]
    public void Load100k_OneHundredThousandDevicesInSmallMemory()
    {
        var scenario = Streams.Load("load-100k");
        Assert.Equal(100_000, scenario.TotalDevices);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        using var generator = new CityGenerator(scenario, Streams.SchoolDay, Streams.SchoolDay + scenario.Duration);
        long count = 0;
        foreach (var m in generator.Messages())
        {
            if (++count == 250_000)
            {
                break;
            }
        }

        var held = GC.GetTotalMemory(forceFullCollection: true) - before;
        GC.KeepAlive(generator);
        // State is per device (a few arrays of numbers), never per message: well under 100 bytes a device.
        Assert.InRange(held, 0, 100 * 100_000);
    }
}

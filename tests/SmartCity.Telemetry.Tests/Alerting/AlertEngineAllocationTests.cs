using SmartCity.Telemetry.Devices;
using Xunit.Abstractions;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// What the alert engine allocates per reading of a device it knows (every message of a city but each device's
/// first): the bench's 100,000-device run sends 300,000 of them, and each byte is GC work at the worker's memory peak.
/// Counted on this thread only (the engine works on the caller's), so tests running beside it do not move the figure.
/// </summary>
public sealed class AlertEngineAllocationTests(ITestOutputHelper output)
{
    private const int Lamps = 1_000;
    private const int ReadingsPerLamp = 20;

    [Fact]
    public void Observe_KnownDeviceWithUnchangedTags_AllocatesAtMostNBytesPerReading()
    {
        using var kit = new AlertTestKit(persist: false);
        var ids = Enumerable.Range(0, Lamps).Select(i => $"lamp-{i:D5}").ToArray();
        foreach (var id in ids)
        {
            kit.Engine.Observe(AlertTestKit.Lamp(kit.Now, id).Field("voltage_v", 230.0), "streetlight");
        }

        // Made before the count: only the engine's own allocations are measured.
        var readings = new List<Point>(Lamps * ReadingsPerLamp);
        for (var r = 1; r <= ReadingsPerLamp; r++)
        {
            readings.AddRange(ids.Select(id => AlertTestKit.Lamp(kit.Now.AddSeconds(r), id).Field("voltage_v", 230.0)));
        }

        var transitions = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var point in readings)
        {
            transitions += kit.Engine.Observe(point, "streetlight").Count;
        }

        var perReading = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)readings.Count;
        output.WriteLine($"{readings.Count:N0} readings of {Lamps:N0} known lamps: {perReading:F1} B allocated per reading by the alert engine");

        Assert.Equal(0, transitions);
        Assert.True(perReading <= MaxBytesPerReading, $"{perReading:F1} B per reading (bound {MaxBytesPerReading})");
    }

    // Measured, then a margin: ebccd86 built a DeviceIdentity (56 B) per reading: 128 B; without it 72 B (the transitions'
    // list and the threshold rules' work).
    private const int MaxBytesPerReading = 80;
}

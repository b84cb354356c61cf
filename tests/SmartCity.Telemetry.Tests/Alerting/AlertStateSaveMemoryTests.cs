using System.Text.Json;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.State;
using Xunit.Abstractions;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The alert state's save as the worker's saver takes it (a snapshot under the engine lock, written off it) with a
/// city's worth of devices: what it allocates per device, and that the devices file keeps the serializer's bytes (the
/// previous version and a restore read it). Allocations are counted on this thread only (snapshot and write run on it).
/// </summary>
public sealed class AlertStateSaveMemoryTests(ITestOutputHelper output)
{
    private const int Devices = 20_000;

    [Fact]
    public void TakeSnapshotAndSave_20000Devices_AllocatesAtMostNBytesPerDevice()
    {
        using var kit = new AlertTestKit();
        var source = (IAlertStateSource)kit.Engine;
        var store = new AlertStore(kit.Options.StateFile);
        City(kit);
        SaveAll(source, store);   // the first: the serializer's metadata and the pool's array are made once

        kit.Engine.Observe(AlertTestKit.Lamp(kit.Now.AddSeconds(1), Id(0)).Field("voltage_v", 230.0), "streetlight");
        var before = GC.GetAllocatedBytesForCurrentThread();
        SaveAll(source, store);
        var perDevice = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Devices;
        output.WriteLine($"a save of {Devices:N0} devices ({new FileInfo(store.DevicesPath).Length:N0} bytes) allocated {perDevice:F1} B per device");

        Assert.True(perDevice <= MaxBytesPerDevice, $"{perDevice:F1} B per device (bound {MaxBytesPerDevice})");
    }

    // Measured, then a margin: ebccd86 copied every device (80 B) into a list grown by doubling and serialised the list: 94.7 B
    // per device; the rows (pooled) written by hand: 19 B, about 380 KB per save whatever the count (the JSON writer's and
    // the file's buffers, the main file), so 4 B per device in a city of 100,000.
    private const int MaxBytesPerDevice = 30;

    [Fact]
    public void TakeSnapshotAndSave_DevicesWithParentsAndLevels_WritesTheSerializersBytesThatLoad()
    {
        using var kit = new AlertTestKit();
        var source = (IAlertStateSource)kit.Engine;
        var store = new AlertStore(kit.Options.StateFile);
        City(kit);

        // The engine's own states written by the serializer as a list (the save without a saver, as before): the bytes to match.
        kit.Engine.Save();
        var expected = File.ReadAllBytes(store.DevicesPath);
        File.Delete(store.DevicesPath);

        // The same reading again: nothing changes but the devices are due, so the saver's path writes them all.
        kit.Engine.Observe(AlertTestKit.Lamp(kit.Now, Id(1)).Field("voltage_v", 230.0), "streetlight");
        SaveAll(source, store);

        Assert.Equal(expected.Length, new FileInfo(store.DevicesPath).Length);
        Assert.Equal(expected, File.ReadAllBytes(store.DevicesPath));
        var loaded = store.Load()!.Devices!;
        Assert.Equal(Devices, loaded.Count);
        var cabinetLamp = Assert.Single(loaded, d => d.Identity.DeviceId == Id(7));
        Assert.Equal("cab-7", cabinetLamp.Parent);
        Assert.Equal(kit.Now, cabinetLamp.LastReceivedAt);
        Assert.Contains(loaded, d => d.LastLevelTimestamp is not null);
        Assert.Contains(loaded, d => d.Parent is null && d.LastTimestamp?.Offset == TimeSpan.FromHours(1));
    }

    private static string Id(int i) => $"lamp-{i:D5}";

    /// <summary>Lamps with readings, every tenth with a birth naming its cabinet, every third stamped at +01:00.</summary>
    private static void City(AlertTestKit kit)
    {
        for (var i = 0; i < Devices; i++)
        {
            var ts = i % 3 == 0 ? kit.Now.ToOffset(TimeSpan.FromHours(1)) : kit.Now;
            if (i % 10 == 7)
            {
                kit.Engine.DeviceCameOnline(new DeviceIdentity(Id(i), "lighting", "north", "park", "streetlight"), "streetlight", ts, parent: $"cab-{i}");
            }

            kit.Engine.Observe(AlertTestKit.Lamp(ts, Id(i)).Field("voltage_v", 230.0), "streetlight");
        }
    }

    /// <summary>What the saver does with every device due (a backup's or the stop's save).</summary>
    private static void SaveAll(IAlertStateSource source, AlertStore store)
    {
        var snapshot = source.TakeSnapshot(allDevices: true);
        Assert.NotNull(snapshot);
        store.Save(snapshot);
    }
}

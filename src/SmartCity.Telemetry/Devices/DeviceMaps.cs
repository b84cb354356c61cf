using System.Collections.Concurrent;

namespace SmartCity.Telemetry.Devices;

/// <summary>
/// A map keyed by device id, sized once for the devices expected (<see cref="Registry.RegistryOptions.ExpectedDevices"/>,
/// or a saved state's count). Grown by doubling instead, a map of 100,000 devices was copied 14 times on its
/// way to 156,437 slots, every copy's old arrays (and a concurrent map's nodes) left as garbage, the big
/// ones on the large-object heap, during the birth storm that is the worker's memory peak.
/// </summary>
internal static class DeviceMaps
{
    /// <summary>A dictionary with room for <paramref name="expected"/> devices (0: not known, starts small).</summary>
    public static Dictionary<string, T> Create<T>(int expected) =>
        expected > 0 ? new(expected, StringComparer.Ordinal) : new(StringComparer.Ordinal);

    /// <summary>
    /// A concurrent dictionary with room for <paramref name="expected"/> devices (0: not known, starts small
    /// as before). It grows when one of its locks guards more entries than its share of the slots, so it
    /// gets a sixteenth more than expected: the devices' hashes never spread so unevenly over the locks.
    /// </summary>
    public static ConcurrentDictionary<string, T> CreateConcurrent<T>(int expected) =>
        expected > 0
            ? new(Environment.ProcessorCount, expected + (expected / 16), StringComparer.Ordinal)
            : new(StringComparer.Ordinal);
}

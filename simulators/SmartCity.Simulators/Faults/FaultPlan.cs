using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Faults;

/// <summary>A span of device time during which a device is off the network.</summary>
public readonly record struct OfflineWindow(DateTimeOffset From, DateTimeOffset To, FaultKind Cause);

/// <summary>
/// A scenario's faults indexed for the generator: which device has which fault, when a device is
/// offline (its own offline faults, or its cabinet's mains loss for a lamp), which doors of a
/// building are forced. Faults are few, so devices without any cost one hash lookup.
/// </summary>
public sealed class FaultPlan
{
    private static readonly Fault[] None = [];
    private readonly Dictionary<int, Fault[]> _byDevice = [];
    private readonly Dictionary<int, OfflineWindow[]> _offline = [];
    private readonly Dictionary<int, Fault[]> _forcedByBuilding = [];
    private readonly Dictionary<int, Fault[]> _lampFaultsByCabinet = [];

    public FaultPlan(Scenario scenario, CityLayout layout, DateTimeOffset start)
    {
        Start = start;
        foreach (var group in scenario.Faults.GroupBy(f => layout.Key(f.DeviceType, f.DeviceIndex)))
        {
            _byDevice[group.Key] = group.OrderBy(f => f.At).ToArray();
        }

        var offline = new Dictionary<int, List<OfflineWindow>>();
        void AddOffline(int key, Fault f) =>
            (offline.TryGetValue(key, out var list) ? list : offline[key] = []).Add(new OfflineWindow(start + f.At, f.Duration is { } d ? start + f.At + d : DateTimeOffset.MaxValue, f.Kind));

        foreach (var f in scenario.Faults)
        {
            switch (f.Kind)
            {
                case FaultKind.SensorOffline or FaultKind.CameraOffline:
                    AddOffline(layout.Key(f.DeviceType, f.DeviceIndex), f);
                    break;
                case FaultKind.CabinetMainsLoss:
                    // The lamps of a cabinet are fed by it: without mains they are dead, hence offline.
                    foreach (var lamp in layout.LampsOf(f.DeviceIndex))
                    {
                        AddOffline(layout.Key(DeviceType.StreetLight, lamp), f);
                    }

                    break;
                case FaultKind.DoorForced:
                    Append(_forcedByBuilding, layout.BuildingOf(DeviceType.DoorContact, f.DeviceIndex), f);
                    break;
                case FaultKind.LampFailure or FaultKind.DriverFailure or FaultKind.DayBurning:
                    var cabinet = layout.CabinetOf(f.DeviceIndex);
                    if (cabinet >= 0)
                    {
                        Append(_lampFaultsByCabinet, cabinet, f);
                    }

                    break;
            }
        }

        foreach (var (key, list) in offline)
        {
            _offline[key] = list.OrderBy(w => w.From).ToArray();
        }
    }

    public DateTimeOffset Start { get; }

    public ReadOnlySpan<Fault> For(int deviceKey) => _byDevice.TryGetValue(deviceKey, out var f) ? f : None;

    public ReadOnlySpan<OfflineWindow> OfflineWindows(int deviceKey) => _offline.TryGetValue(deviceKey, out var w) ? w : [];

    public ReadOnlySpan<Fault> ForcedDoors(int building) => _forcedByBuilding.TryGetValue(building, out var f) ? f : None;

    public ReadOnlySpan<Fault> LampFaultsOfCabinet(int cabinet) => _lampFaultsByCabinet.TryGetValue(cabinet, out var f) ? f : None;

    /// <summary>The first active fault of <paramref name="kind"/> for the device at <paramref name="t"/>, if any.</summary>
    public Fault? Active(int deviceKey, FaultKind kind, DateTimeOffset t)
    {
        foreach (var f in For(deviceKey))
        {
            if (f.Kind == kind && f.IsActive(t - Start))
            {
                return f;
            }
        }

        return null;
    }

    public bool IsOffline(int deviceKey, DateTimeOffset t)
    {
        foreach (var w in OfflineWindows(deviceKey))
        {
            if (t >= w.From && t < w.To)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The device clock's offset at <paramref name="t"/> (clock-skew faults).</summary>
    public TimeSpan SkewAt(int deviceKey, DateTimeOffset t) => Active(deviceKey, FaultKind.ClockSkew, t)?.Skew ?? TimeSpan.Zero;

    private static void Append(Dictionary<int, Fault[]> map, int key, Fault f) =>
        map[key] = map.TryGetValue(key, out var existing) ? [.. existing, f] : [f];
}

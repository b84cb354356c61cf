namespace SmartCity.Simulators.Faults;

/// <summary>Faults a scenario can schedule (the <c>kind</c> of a fault in a scenario file).</summary>
public enum FaultKind
{
    /// <summary>Street light: the lamp (LED module) is dead; the controller reports <c>lamp_failure</c> and draws only its driver's idle power.</summary>
    LampFailure,

    /// <summary>Street light: the driver is dead; no power at all while switched on, <c>driver_failure</c> reported.</summary>
    DriverFailure,

    /// <summary>Street light burns in daylight (stuck relay or wrong schedule): on, full level, no fault code.</summary>
    DayBurning,

    /// <summary>Lighting cabinet loses mains: <c>mains_lost</c>, no power; its lamps go offline until <c>mains_restored</c>.</summary>
    CabinetMainsLoss,

    /// <summary>Classroom sensor keeps sending the same readings.</summary>
    StuckSensor,

    /// <summary>Any device drops off the network: its last will (<c>online:false</c>), silence, then a new birth message.</summary>
    SensorOffline,

    /// <summary>Classroom CO2 jumps to a high value (default 4500 ppm) for the fault's duration.</summary>
    Co2Spike,

    /// <summary>Door opened without access: <c>forced</c> event; an armed panel of the building goes to alarm.</summary>
    DoorForced,

    /// <summary>Camera drops off the network (as <see cref="SensorOffline"/>, for cameras).</summary>
    CameraOffline,

    /// <summary>The device sends a burst of payloads that break the contract in several ways.</summary>
    MalformedBurst,

    /// <summary>The device's clock is off by a fixed amount: every <c>ts</c> it sends is shifted.</summary>
    ClockSkew,
}

public static class FaultKinds
{
    public static string Name(this FaultKind kind) => kind switch
    {
        FaultKind.LampFailure => "lamp_failure",
        FaultKind.DriverFailure => "driver_failure",
        FaultKind.DayBurning => "day_burning",
        FaultKind.CabinetMainsLoss => "cabinet_mains_loss",
        FaultKind.StuckSensor => "stuck_sensor",
        FaultKind.SensorOffline => "sensor_offline",
        FaultKind.Co2Spike => "co2_spike",
        FaultKind.DoorForced => "door_forced",
        FaultKind.CameraOffline => "camera_offline",
        FaultKind.MalformedBurst => "malformed_burst",
        FaultKind.ClockSkew => "clock_skew",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryParse(string name, out FaultKind kind)
    {
        foreach (var k in Enum.GetValues<FaultKind>())
        {
            if (k.Name() == name)
            {
                kind = k;
                return true;
            }
        }

        kind = default;
        return false;
    }

    /// <summary>The device types a fault kind applies to; null = any type.</summary>
    public static Devices.DeviceType[]? AppliesTo(this FaultKind kind) => kind switch
    {
        FaultKind.LampFailure or FaultKind.DriverFailure or FaultKind.DayBurning => [Devices.DeviceType.StreetLight],
        FaultKind.CabinetMainsLoss => [Devices.DeviceType.LightingCabinet],
        FaultKind.StuckSensor or FaultKind.Co2Spike => [Devices.DeviceType.ClassroomEnv],
        FaultKind.DoorForced => [Devices.DeviceType.DoorContact],
        FaultKind.CameraOffline => [Devices.DeviceType.Camera],
        _ => null,
    };

    /// <summary>
    /// The alert rule id a fault of this kind is expected to raise (see simulators/README.md,
    /// "Expected alerts"); the alerting engine will use the same ids.
    /// </summary>
    public static string DefaultRule(this FaultKind kind) => kind switch
    {
        FaultKind.LampFailure => "lamp_failure",
        FaultKind.DriverFailure => "driver_failure",
        FaultKind.DayBurning => "day_burning",
        FaultKind.CabinetMainsLoss => "mains_loss",
        FaultKind.StuckSensor => "stuck_sensor",
        FaultKind.SensorOffline or FaultKind.CameraOffline => "device_offline",
        FaultKind.Co2Spike => "co2_high",
        FaultKind.DoorForced => "door_forced",
        FaultKind.MalformedBurst => "malformed_payloads",
        FaultKind.ClockSkew => "clock_skew",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Every rule id a scenario's expected alerts may name.</summary>
    public static readonly IReadOnlySet<string> Rules = new HashSet<string>(
        Enum.GetValues<FaultKind>().Select(k => k.DefaultRule()).Append("intrusion_alarm"), StringComparer.Ordinal);
}

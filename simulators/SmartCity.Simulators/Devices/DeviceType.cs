namespace SmartCity.Simulators.Devices;

/// <summary>The device types of docs/device-contract.md that the simulator can play.</summary>
public enum DeviceType
{
    StreetLight,
    LightingCabinet,
    ClassroomEnv,
    DoorContact,
    MotionDetector,
    Camera,
    AlarmPanel,
    PanicButton,
}

/// <summary>Contract names and defaults of each device type.</summary>
public static class DeviceTypes
{
    public static readonly IReadOnlyList<DeviceType> All = Enum.GetValues<DeviceType>();

    /// <summary>The <c>deviceType</c> topic segment.</summary>
    public static string Name(this DeviceType type) => type switch
    {
        DeviceType.StreetLight => "streetlight",
        DeviceType.LightingCabinet => "lighting_cabinet",
        DeviceType.ClassroomEnv => "classroom_env",
        DeviceType.DoorContact => "door_contact",
        DeviceType.MotionDetector => "motion_detector",
        DeviceType.Camera => "camera",
        DeviceType.AlarmPanel => "alarm_panel",
        DeviceType.PanicButton => "panic_button",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    public static string Sector(this DeviceType type) => type switch
    {
        DeviceType.StreetLight or DeviceType.LightingCabinet => "lighting",
        DeviceType.ClassroomEnv => "education",
        _ => "security",
    };

    /// <summary>Device ids are <c>{prefix}-{n:000000}</c>, n counting from 1 per type (<c>lamp-000001</c>).</summary>
    public static string IdPrefix(this DeviceType type) => type switch
    {
        DeviceType.StreetLight => "lamp",
        DeviceType.LightingCabinet => "cab",
        DeviceType.ClassroomEnv => "cls",
        DeviceType.DoorContact => "door",
        DeviceType.MotionDetector => "pir",
        DeviceType.Camera => "cam",
        DeviceType.AlarmPanel => "panel",
        DeviceType.PanicButton => "panic",
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Telemetry period in device time when the scenario does not set one.</summary>
    public static TimeSpan DefaultInterval(this DeviceType type) => type switch
    {
        DeviceType.StreetLight or DeviceType.LightingCabinet or DeviceType.ClassroomEnv => TimeSpan.FromMinutes(5),
        DeviceType.DoorContact => TimeSpan.FromMinutes(15),
        DeviceType.MotionDetector or DeviceType.AlarmPanel => TimeSpan.FromMinutes(5),
        DeviceType.Camera => TimeSpan.FromMinutes(1),
        DeviceType.PanicButton => TimeSpan.FromHours(1),
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>
    /// How often the model looks at a device. Event-driven devices (doors, motion) are looked at
    /// every minute and report what happened within that minute at the second it happened.
    /// </summary>
    public static TimeSpan Tick(this DeviceType type, TimeSpan interval) => type switch
    {
        DeviceType.DoorContact or DeviceType.MotionDetector => TimeSpan.FromMinutes(1) < interval ? TimeSpan.FromMinutes(1) : interval,
        _ => interval,
    };

    public static bool TryParse(string name, out DeviceType type)
    {
        foreach (var t in All)
        {
            if (t.Name() == name)
            {
                type = t;
                return true;
            }
        }

        type = default;
        return false;
    }

    /// <summary>Parses a device id back to its type and zero-based index (<c>lamp-000012</c> = street light 11).</summary>
    public static bool TryParseId(string deviceId, out DeviceType type, out int index)
    {
        type = default;
        index = -1;
        var dash = deviceId.LastIndexOf('-');
        if (dash <= 0 || !int.TryParse(deviceId.AsSpan(dash + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) || n < 1)
        {
            return false;
        }

        var prefix = deviceId.AsSpan(0, dash);
        foreach (var t in All)
        {
            if (prefix.SequenceEqual(t.IdPrefix()))
            {
                type = t;
                index = n - 1;
                return true;
            }
        }

        return false;
    }

    public static string DeviceId(this DeviceType type, int index) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{type.IdPrefix()}-{index + 1:000000}");
}

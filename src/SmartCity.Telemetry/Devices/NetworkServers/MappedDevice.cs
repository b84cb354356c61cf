using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>A device of a mapping file, resolved: its topic identity, profile and how its uplinks decode.</summary>
public sealed record MappedDevice(
    string Network,
    string Application,
    string? DevEui,
    string? NetworkDeviceId,
    DeviceTopic Topic,
    DeviceProfile Profile,
    MessageSpec Spec,
    string Source,
    IReadOnlyDictionary<int, string> Codecs,
    IReadOnlyList<MappedField> Fields);

/// <summary>A key of the decoded object (path split at dots), the profile field it feeds and the unit it comes in.</summary>
public sealed record MappedField(string Key, string[] Path, FieldSpec Target, string? Unit);

/// <summary>Unit conversions a mapping may ask for: the source unit to the profile field's unit.</summary>
public static class NetworkUnits
{
    private static readonly Dictionary<(string From, string To), double> Factors = new()
    {
        [("Wh", "kWh")] = 0.001,
        [("kWh", "Wh")] = 1000,
        [("mA", "A")] = 0.001,
        [("mV", "V")] = 0.001,
        [("W", "kW")] = 0.001,
        [("kW", "W")] = 1000,
        [("Pa", "hPa")] = 0.01,
        [("hPa", "Pa")] = 100,
        // Power factor (no unit) from a percentage; percentages from fractions.
        [("%", "")] = 0.01,
        [("ratio", "%")] = 100,
    };

    /// <summary>The factor from <paramref name="from"/> to <paramref name="to"/>; no unit on either side: 1.</summary>
    public static bool TryFactor(string? from, string? to, out double factor)
    {
        from ??= "";
        to ??= "";
        if (from.Length == 0 || string.Equals(from, to, StringComparison.Ordinal))
        {
            factor = 1;
            return true;
        }

        return Factors.TryGetValue((from, to), out factor);
    }

    /// <summary>Divides by the inverse of a factor below one: 1110 Wh is 1.11 kWh, not 1.1100000000000001.</summary>
    public static double Apply(double number, double factor) => factor < 1 ? number / Math.Round(1 / factor) : number * factor;
}

namespace SmartCity.Worker.Talq;

public enum TalqFieldKind
{
    Number,
    Flag,
    Level,

    /// <summary>AttributeBinary: "ON" / "OFF".</summary>
    Binary,
}

public sealed record TalqField(string Field, TalqFieldKind Kind);

/// <summary>
/// Which TALQ attributes and events become which streetlight profile field (profiles/streetlight):
/// the same measurement and fields as an MQTT lamp, so dashboards, alerts and the energy report cover
/// both. Units match: TALQ's activePower is W, activeEnergy kWh, operatingHours h, supplyVoltage V.
/// </summary>
public static class TalqAttributes
{
    /// <summary>The level field (0..100 %); <c>on</c> follows from it (level 0 is off).</summary>
    public const string Level = "dim_pct";

    public const string Power = "power_w";

    /// <summary>A photocell's output (on: dark enough for the lamps), streetlight and photocell profiles alike.</summary>
    public const string PhotocellOn = "photocell_on";

    private static readonly Dictionary<string, TalqField> Attributes = new(StringComparer.Ordinal)
    {
        ["actualLightState"] = new(Level, TalqFieldKind.Level),
        ["activePower"] = new(Power, TalqFieldKind.Number),
        ["totalPower"] = new(Power, TalqFieldKind.Number),
        ["activeEnergy"] = new("energy_kwh", TalqFieldKind.Number),
        ["totalActiveEnergy"] = new("energy_kwh", TalqFieldKind.Number),
        ["operatingHours"] = new("burning_hours", TalqFieldKind.Number),
        ["supplyVoltage"] = new("voltage_v", TalqFieldKind.Number),
        ["supplyCurrent"] = new("current_a", TalqFieldKind.Number),
        ["powerFactor"] = new("power_factor", TalqFieldKind.Number),
        ["lampFailure"] = new("lamp_failure", TalqFieldKind.Flag),
        ["supplyVoltageTooHigh"] = new("over_voltage", TalqFieldKind.Flag),
        ["supplyVoltageTooLow"] = new("under_voltage", TalqFieldKind.Flag),
        ["photocellOutput"] = new(PhotocellOn, TalqFieldKind.Binary),
        ["photocellOutputOn"] = new(PhotocellOn, TalqFieldKind.Flag),
    };

    /// <summary>Faults are the profile's flags (fault_lamp_failure ...), reported in telemetry's 'faults' list.</summary>
    public static readonly IReadOnlySet<string> Faults = new HashSet<string>(StringComparer.Ordinal) { "lamp_failure", "driver_failure", "over_voltage", "under_voltage" };

    public static TalqField? Map(string attributeName) => Attributes.GetValueOrDefault(attributeName);

    public static string? MapEvent(string eventType) => eventType switch
    {
        "lampFailure" => "lamp_failure",
        "supplyVoltageTooHigh" => "over_voltage",
        "supplyVoltageTooLow" => "under_voltage",
        _ => null,
    };
}

/// <summary>Which of our device profiles a TALQ device joins the registry with, from its functions.</summary>
public static class TalqProfiles
{
    public const string Streetlight = "streetlight";

    public const string Photocell = "photocell";

    /// <summary>"streetlight" with a lamp function, "photocell" with a photocell function alone, "" (not registered) otherwise.</summary>
    public static string Of(IReadOnlyDictionary<string, string> functions) =>
        functions.Values.Any(TalqDevice.LampFunctions.Contains) ? Streetlight
        : functions.Values.Contains("PhotocellFunction", StringComparer.Ordinal) ? Photocell
        : "";
}

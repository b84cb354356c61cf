using System.Text.Json.Serialization;

namespace SmartCity.Telemetry.Devices.Profiles;

/// <summary>
/// A device type described as data (profiles/{id}/profile.json): what its messages look like and
/// what they become in InfluxDB. An integrator adds a device type by adding one of these files.
/// docs/device-profiles.md describes every property.
/// </summary>
public sealed record DeviceProfile
{
    /// <summary>Profile id, named by devices in their birth message (<c>"profile"</c>).</summary>
    public required string Id { get; init; }

    /// <summary>Version of the profile itself (semantic versioning), for humans and the API.</summary>
    public required string Version { get; init; }

    /// <summary><c>lighting</c>, <c>education</c> or <c>security</c>.</summary>
    public required string Sector { get; init; }

    /// <summary>The device-type segment of the topic.</summary>
    public required string DeviceType { get; init; }

    public string? Description { get; init; }

    /// <summary>How often a healthy device reports; offline detection waits for a few of these.</summary>
    public required TimeSpan ExpectedInterval { get; init; }

    /// <summary>Where a public data model exists: its name and how our fields map to its attributes.</summary>
    public FiwareMapping? Fiware { get; init; }

    /// <summary>Message kinds the device sends (<c>telemetry</c>, <c>event</c>) and how each is decoded.</summary>
    public required Dictionary<string, MessageSpec> Messages { get; init; }

    /// <summary>
    /// Commands the device understands on its <c>cmd</c> topic (<c>switch</c>, <c>dim</c>; see
    /// docs/lighting-control.md). A device is never sent a command its profile does not list.
    /// </summary>
    public List<string> Commands { get; init; } = [];

    /// <summary>Default alert rules for this device type (thresholds overridable per city).</summary>
    public List<AlertRuleSpec> Alerts { get; init; } = [];

    /// <summary>Where the profile came from (file path or built-in resource), for error messages and the API.</summary>
    [JsonIgnore]
    public string Source { get; init; } = "";
}

public sealed record FiwareMapping
{
    public required string Model { get; init; }

    /// <summary>Our field name -> the data model's attribute (with its unit where it differs).</summary>
    public Dictionary<string, string> Fields { get; init; } = [];
}

public sealed record MessageSpec
{
    /// <summary>InfluxDB measurement the points go to.</summary>
    public required string Measurement { get; init; }

    /// <summary>Payload versions (<c>v</c>) this spec accepts.</summary>
    public List<int> Versions { get; init; } = [1];

    /// <summary>Payload fields in the order they are written (for a plug-in: what it produces).</summary>
    public required List<FieldSpec> Fields { get; init; }

    /// <summary>A code plug-in (<see cref="Plugins.IPayloadDecoderPlugin.Name"/>) for binary or vendor payloads; none for JSON.</summary>
    public string? Decoder { get; init; }
}

[JsonConverter(typeof(JsonStringEnumConverter<FieldKind>))]
public enum FieldKind
{
    /// <summary>A finite number, stored as a float field.</summary>
    [JsonStringEnumMemberName("float")] Float,
    /// <summary>A whole number, stored as an integer field.</summary>
    [JsonStringEnumMemberName("int")] Int,
    [JsonStringEnumMemberName("bool")] Bool,
    /// <summary>Free text (bounded), stored as a string field, never as a tag.</summary>
    [JsonStringEnumMemberName("string")] String,
    /// <summary>One of <see cref="FieldSpec.Values"/>, stored as a string field.</summary>
    [JsonStringEnumMemberName("enum")] Enum,
    /// <summary>An array of codes from <see cref="FieldSpec.Values"/>, stored as one boolean field per code.</summary>
    [JsonStringEnumMemberName("flags")] Flags,
}

public sealed record FieldSpec
{
    /// <summary>Name in the JSON payload.</summary>
    public required string Name { get; init; }

    public required FieldKind Type { get; init; }

    /// <summary>Unit, for documentation and dashboards (W, %, ppm, degC ...).</summary>
    public string? Unit { get; init; }

    public bool Required { get; init; }

    public double? Min { get; init; }

    public double? Max { get; init; }

    /// <summary>Allowed values of an <c>enum</c>, or codes of <c>flags</c>.</summary>
    public List<string>? Values { get; init; }

    /// <summary>Longest accepted <c>string</c>.</summary>
    public int MaxLength { get; init; } = 256;

    /// <summary>Stored field name (default: <see cref="Name"/>); for <c>flags</c>, the prefix of each code's field.</summary>
    public string? Field { get; init; }

    [JsonIgnore]
    public string StoredName => Field ?? Name;

    /// <summary>The stored field name of one flag code.</summary>
    public string FlagField(string code) => (Field ?? Name + "_") + code;
}

/// <summary>A default alert rule shipped with a profile; the alerting stage interprets it.</summary>
public sealed record AlertRuleSpec
{
    public required string Rule { get; init; }

    /// <summary><c>critical</c>, <c>major</c>, <c>minor</c> or <c>warning</c>.</summary>
    public required string Severity { get; init; }

    /// <summary><c>threshold</c>, <c>flag</c>, <c>event</c>, <c>offline</c> or <c>rate</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>The stored field the rule watches (threshold, flag, rate).</summary>
    public string? Field { get; init; }

    public double? Above { get; init; }

    public double? Below { get; init; }

    /// <summary>Hysteresis: the level at which a raised threshold alert clears.</summary>
    public double? Clear { get; init; }

    /// <summary>How long the condition must hold before the alert is raised.</summary>
    public TimeSpan? For { get; init; }

    /// <summary>The event value that raises the alert (event rules).</summary>
    public string? Event { get; init; }

    /// <summary>
    /// The event value that resolves the alert by itself (event rules), such as <c>video_restored</c>
    /// after <c>video_loss</c>. Without one, an event alert stays open until an operator resolves it.
    /// </summary>
    public string? ClearEvent { get; init; }

    /// <summary>
    /// Event rules: the open alert resolves by itself once no raising event has come for this long
    /// (<c>motion_after_hours</c>: the motion has stopped). None: it stays open until a clear event
    /// or an operator resolves it (<c>panic</c>: a person must look).
    /// </summary>
    public TimeSpan? ResolveAfterQuiet { get; init; }

    /// <summary>
    /// Rules of this profile that, while open on the same device, keep this one from being raised:
    /// a lamp that reports its own failure is not also raised as "dark at night" (one cause, one alert).
    /// </summary>
    public List<string> InhibitedBy { get; init; } = [];

    /// <summary>
    /// Rules of the devices whose birth names this device as <c>parent</c> that, while this alert is
    /// open, are not raised one by one but listed on it (a cabinet's mains loss darkens its lamps).
    /// </summary>
    public List<string> Groups { get; init; } = [];

    /// <summary>When the rule applies: <c>always</c>, <c>night</c>, <c>day</c>, <c>school_hours</c>, <c>closed_hours</c>.</summary>
    public string Schedule { get; init; } = "always";

    public string? Description { get; init; }
}

using System.Text.Json.Serialization;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting;

/// <summary>In the order of <see cref="RuleVocabulary.Severities"/>, which spells them.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    [JsonStringEnumMemberName("critical")] Critical,
    [JsonStringEnumMemberName("major")] Major,
    [JsonStringEnumMemberName("minor")] Minor,
    [JsonStringEnumMemberName("warning")] Warning,
}

/// <summary>In the order of <see cref="RuleVocabulary.Schedules"/>, which spells them.</summary>
public enum AlertSchedule
{
    Always,
    Night,
    Day,
    SchoolHours,
    ClosedHours,
}

/// <summary>Who a device is, from the five identity tags of its points (the validated topic).</summary>
/// <remarks>
/// The alert engine keeps one per device (100,000 in a city): the four names are held in one
/// <see cref="DevicePlace"/>, which the engine shares between the devices of a site and type (about 25
/// street lights of a street), so an identity is 32 bytes instead of 56. The same properties, the same
/// value equality and JSON as the positional record it was.
/// </remarks>
public sealed record DeviceIdentity
{
    private readonly DevicePlace _place;

    public DeviceIdentity(string DeviceId, string Sector, string District, string Site, string DeviceType)
        : this(DeviceId, new DevicePlace(Sector, District, Site, DeviceType))
    {
    }

    internal DeviceIdentity(string deviceId, DevicePlace place)
    {
        this.DeviceId = deviceId;
        _place = place;
    }

    public string DeviceId { get; init; }

    public string Sector { get => _place.Sector; init => _place = _place with { Sector = value }; }

    public string District { get => _place.District; init => _place = _place with { District = value }; }

    public string Site { get => _place.Site; init => _place = _place with { Site = value }; }

    public string DeviceType { get => _place.DeviceType; init => _place = _place with { DeviceType = value }; }

    /// <summary>The four names, shared by the devices of one site and type.</summary>
    internal DevicePlace Place => _place;

    public void Deconstruct(out string DeviceId, out string Sector, out string District, out string Site, out string DeviceType) =>
        (DeviceId, Sector, District, Site, DeviceType) = (this.DeviceId, this.Sector, this.District, this.Site, this.DeviceType);
}

/// <summary>Where a device is and what type it is: the part of its <see cref="DeviceIdentity"/> that devices share.</summary>
internal sealed record DevicePlace(string Sector, string District, string Site, string DeviceType);

/// <summary>
/// A rule in force for one device: the profile's <see cref="AlertRuleSpec"/> with the city's
/// overrides applied. Parsed once so the hot path compares enums, not strings.
/// </summary>
public sealed record AlertRule
{
    public required string Rule { get; init; }

    public required string ProfileId { get; init; }

    /// <summary>The rule kind's name in <see cref="RuleVocabulary"/>; its evaluator judges the rule.</summary>
    public required string Kind { get; init; }

    public required AlertSeverity Severity { get; init; }

    public string? Field { get; init; }

    public double? Above { get; init; }

    public double? Below { get; init; }

    public double? Clear { get; init; }

    public TimeSpan For { get; init; }

    public string? Event { get; init; }

    /// <summary>The event value that resolves an open alert of this event rule; none: an operator resolves it.</summary>
    public string? ClearEvent { get; init; }

    /// <summary>Event rules: the open alert resolves after this long without a raising event; none: it waits for a clear event or an operator.</summary>
    public TimeSpan? ResolveAfterQuiet { get; init; }

    /// <summary>Rules whose open alert on the same device holds this one back (one cause, one alert).</summary>
    public IReadOnlyList<string> InhibitedBy { get; init; } = [];

    /// <summary>Rules of child devices (birth <c>parent</c>) held under this alert while it is open.</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    public AlertSchedule Schedule { get; init; }

    public string? Description { get; init; }

    public bool Enabled { get; init; } = true;

    /// <summary>The profile's rule as shipped. The profile loader has already checked its strings.</summary>
    public static AlertRule From(AlertRuleSpec spec, string profileId) => new()
    {
        Rule = spec.Rule,
        ProfileId = profileId,
        Kind = spec.Kind,
        Severity = ParseSeverity(spec.Severity) ?? throw new ArgumentException($"rule '{spec.Rule}': unknown severity '{spec.Severity}'", nameof(spec)),
        Field = spec.Field,
        Above = spec.Above,
        Below = spec.Below,
        Clear = spec.Clear,
        For = spec.For ?? TimeSpan.Zero,
        Event = spec.Event,
        ClearEvent = spec.ClearEvent,
        ResolveAfterQuiet = spec.ResolveAfterQuiet,
        InhibitedBy = spec.InhibitedBy,
        Groups = spec.Groups,
        Schedule = ParseSchedule(spec.Schedule) ?? throw new ArgumentException($"rule '{spec.Rule}': unknown schedule '{spec.Schedule}'", nameof(spec)),
        Description = spec.Description,
    };

    public static AlertSeverity? ParseSeverity(string severity) => Index(RuleVocabulary.Severities, severity) is { } i ? (AlertSeverity)i : null;

    public static AlertSchedule? ParseSchedule(string schedule) => Index(RuleVocabulary.Schedules, schedule) is { } i ? (AlertSchedule)i : null;

    private static int? Index(IReadOnlyList<string> names, string name)
    {
        for (var i = 0; i < names.Count; i++)
        {
            if (names[i] == name)
            {
                return i;
            }
        }

        return null;
    }
}

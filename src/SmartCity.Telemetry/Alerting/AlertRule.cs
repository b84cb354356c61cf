using System.Text.Json.Serialization;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Alerting;

[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    [JsonStringEnumMemberName("critical")] Critical,
    [JsonStringEnumMemberName("major")] Major,
    [JsonStringEnumMemberName("minor")] Minor,
    [JsonStringEnumMemberName("warning")] Warning,
}

public enum AlertRuleKind
{
    Threshold,
    Flag,
    Event,
    Offline,
    Rate,
}

public enum AlertSchedule
{
    Always,
    Night,
    Day,
    SchoolHours,
    ClosedHours,
}

/// <summary>Who a device is, from the five identity tags of its points (the validated topic).</summary>
public sealed record DeviceIdentity(string DeviceId, string Sector, string District, string Site, string DeviceType);

/// <summary>
/// A rule in force for one device: the profile's <see cref="AlertRuleSpec"/> with the city's
/// overrides applied. Parsed once so the hot path compares enums, not strings.
/// </summary>
public sealed record AlertRule
{
    public required string Rule { get; init; }

    public required string ProfileId { get; init; }

    public required AlertRuleKind Kind { get; init; }

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
        Kind = ParseKind(spec.Kind) ?? throw new ArgumentException($"rule '{spec.Rule}': unknown kind '{spec.Kind}'", nameof(spec)),
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

    public static AlertRuleKind? ParseKind(string kind) => kind switch
    {
        "threshold" => AlertRuleKind.Threshold,
        "flag" => AlertRuleKind.Flag,
        "event" => AlertRuleKind.Event,
        "offline" => AlertRuleKind.Offline,
        "rate" => AlertRuleKind.Rate,
        _ => null,
    };

    public static AlertSeverity? ParseSeverity(string severity) => severity switch
    {
        "critical" => AlertSeverity.Critical,
        "major" => AlertSeverity.Major,
        "minor" => AlertSeverity.Minor,
        "warning" => AlertSeverity.Warning,
        _ => null,
    };

    public static AlertSchedule? ParseSchedule(string schedule) => schedule switch
    {
        "always" => AlertSchedule.Always,
        "night" => AlertSchedule.Night,
        "day" => AlertSchedule.Day,
        "school_hours" => AlertSchedule.SchoolHours,
        "closed_hours" => AlertSchedule.ClosedHours,
        _ => null,
    };

    /// <summary>
    /// The side of a threshold or rate rule the value is on: +1 above <see cref="Above"/>, -1 below
    /// <see cref="Below"/>, 0 within limits. A flag is "above" when true.
    /// </summary>
    internal int Breach(double value) => Kind switch
    {
        AlertRuleKind.Flag => value >= 0.5 ? 1 : 0,
        _ when Above is { } a && value > a => 1,
        _ when Below is { } b && value < b => -1,
        _ => 0,
    };

    /// <summary>
    /// Whether a raised alert (raised on <paramref name="side"/>) clears at this value. With a
    /// <see cref="Clear"/> level the value must be past it (hysteresis: between the clear and
    /// the raise level the alert stays); without one it clears as soon as it is within limits.
    /// </summary>
    internal bool Clears(double value, int side)
    {
        if (Kind == AlertRuleKind.Flag)
        {
            return value < 0.5;
        }

        return side switch
        {
            1 when Clear is { } c && Above is { } a && c <= a => value < c || (c == a && value <= a),
            1 => Above is not { } above || value <= above,
            -1 when Clear is { } c && Below is { } b && c >= b => value > c || (c == b && value >= b),
            -1 => Below is not { } below || value >= below,
            _ => Breach(value) == 0,
        };
    }
}

using System.Text.Json.Serialization;

namespace SmartCity.Telemetry.Alerting;

/// <summary>
/// An alert's state. Named in JSON as the API's <c>state</c> filter, the MQTT state topic and the
/// webhook name it (<c>raised</c>, not <c>Raised</c>): one spelling everywhere. Reading is
/// case-insensitive, so state files written with the old names still load.
/// </summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertState>))]
public enum AlertState
{
    [JsonStringEnumMemberName("raised")] Raised,
    [JsonStringEnumMemberName("acknowledged")] Acknowledged,
    [JsonStringEnumMemberName("resolved")] Resolved,
}

/// <summary>A step of an alert's history, named in JSON as the MQTT state topic and the webhook name it.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertTransitionKind>))]
public enum AlertTransitionKind
{
    [JsonStringEnumMemberName("raised")] Raised,
    [JsonStringEnumMemberName("acknowledged")] Acknowledged,
    [JsonStringEnumMemberName("commented")] Commented,
    [JsonStringEnumMemberName("escalated")] Escalated,
    [JsonStringEnumMemberName("resolved")] Resolved,
    /// <summary>The rule raised and resolved too often: notifications pause (the alert state goes on).</summary>
    [JsonStringEnumMemberName("flappingStarted")] FlappingStarted,
    /// <summary>The rule has been quiet for the flapping window: notifications resume.</summary>
    [JsonStringEnumMemberName("flappingStopped")] FlappingStopped,
    /// <summary>
    /// Resolved longer ago than <c>Alerting:KeepResolvedFor</c>: forgotten by the store. Not a step
    /// of its history; the MQTT state notifier clears the alert's retained topic, the others ignore it.
    /// </summary>
    [JsonStringEnumMemberName("removed")] Removed,
}

/// <summary>
/// One step in an alert's life. <see cref="By"/> null means the engine did it. <see cref="At"/> is
/// the engine's clock; <see cref="DeviceTime"/> is the device's own timestamp of the reading or
/// event that caused the step, which is what matters when data arrives late or is replayed from a
/// gateway's buffer. For <c>device_offline</c> raised by a last will or by silence it is the device
/// time of the device's last message (the last moment it was known alive); it is null only for
/// operator actions, escalation and flapping (nothing the device said caused them).
/// </summary>
public sealed record AlertHistoryEntry(
    AlertTransitionKind Kind,
    DateTimeOffset At,
    string? By = null,
    string? Comment = null,
    double? Value = null,
    DateTimeOffset? DeviceTime = null);

/// <summary>
/// An alert on one device and rule. Immutable: every transition makes a new version, so a
/// snapshot handed to a notifier or the API never changes under it.
/// </summary>
public sealed record Alert
{
    /// <summary>Stable: derived from device, rule and raise time, so a replay yields the same id.</summary>
    public required string Id { get; init; }

    public required string DeviceId { get; init; }

    public required string Rule { get; init; }

    public required string ProfileId { get; init; }

    public required AlertSeverity Severity { get; init; }

    public required string Sector { get; init; }

    public required string District { get; init; }

    public required string Site { get; init; }

    public string? Description { get; init; }

    public AlertState State { get; init; } = AlertState.Raised;

    /// <summary>When the engine raised it (its clock, not the device's).</summary>
    public required DateTimeOffset RaisedAt { get; init; }

    public string? AcknowledgedBy { get; init; }

    public DateTimeOffset? AcknowledgedAt { get; init; }

    public string? AcknowledgedComment { get; init; }

    public DateTimeOffset? ResolvedAt { get; init; }

    /// <summary>The operator who resolved it; null when it resolved itself (the condition cleared).</summary>
    public string? ResolvedBy { get; init; }

    public bool Escalated { get; init; }

    /// <summary>The rule is flapping: transitions are recorded but notifications are suppressed.</summary>
    public bool Flapping { get; init; }

    /// <summary>How many times the condition was seen while open (events of one burst count here, not as new alerts).</summary>
    public int Occurrences { get; init; } = 1;

    /// <summary>
    /// When the engine last saw the condition (its clock, like <see cref="RaisedAt"/>): the raise,
    /// or the latest repeat of the event while open. Never before <see cref="RaisedAt"/>.
    /// </summary>
    public DateTimeOffset? LastOccurrenceAt { get; init; }

    /// <summary>The device's own timestamp of that last occurrence (its clock: late or replayed data shows when it happened).</summary>
    public DateTimeOffset? LastOccurrenceDeviceTime { get; init; }

    /// <summary>
    /// Child devices (whose birth names this alert's device as parent) whose own alerts of the
    /// rule's <c>groups</c> were held under this one instead of being raised: the lamps a cabinet
    /// left dark. One alert for one cause.
    /// </summary>
    public IReadOnlyList<string> Affected { get; init; } = [];

    public IReadOnlyList<AlertHistoryEntry> History { get; init; } = [];

    [JsonIgnore]
    public bool IsOpen => State != AlertState.Resolved;
}

/// <summary>
/// A transition, for notifiers and storage. <see cref="Suppressed"/> is set while the rule is
/// flapping: a notifier skips it, a recorder still stores it.
/// </summary>
public sealed record AlertTransition(Alert Alert, AlertHistoryEntry Entry, bool Suppressed)
{
    public AlertTransitionKind Kind => Entry.Kind;
}

/// <summary>Why an operator request was refused.</summary>
public enum AlertOperationError
{
    None,
    NotFound,
    AlreadyResolved,
    AlreadyAcknowledged,
    MissingOperator,
    MissingText,
}

/// <summary>The outcome of an operator request: the alert after it, or the reason it was refused.</summary>
public sealed record AlertOperationResult(AlertOperationError Error, string? Reason, Alert? Alert, AlertTransition? Transition)
{
    public bool Ok => Error == AlertOperationError.None;

    internal static AlertOperationResult Done(AlertTransition t) => new(AlertOperationError.None, null, t.Alert, t);

    internal static AlertOperationResult Refused(AlertOperationError error, string reason, Alert? alert = null) => new(error, reason, alert, null);
}

using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.State;

/// <summary>What the engine knows of one device between messages.</summary>
public sealed class DeviceAlertState
{
    private DeviceIdentity _identity = null!;
    private string _profileId = null!;

    public required DeviceIdentity Identity
    {
        get => _identity;
        set
        {
            _identity = value;
            Rules = null;
        }
    }

    public required string ProfileId
    {
        get => _profileId;
        set
        {
            _profileId = value;
            Rules = null;
        }
    }

    /// <summary>
    /// The rules that apply to this identity and profile, worked out once (not saved): kept here rather
    /// than in a dictionary of its own, which cost an entry, a key and a copy of the identity per device.
    /// Cleared whenever the identity or the profile changes.
    /// </summary>
    internal IReadOnlyList<AlertRule>? Rules;

    /// <summary>Engine time of the last message: the deadman timer runs on the engine's clock,
    /// because replayed or skewed device clocks say nothing about whether the device is alive now.</summary>
    public DateTimeOffset LastReceivedAt
    {
        get => PackedInstant.Unpack(_lastReceivedAt, _lastReceivedAtOffset)!.Value;
        set => (_lastReceivedAt, _lastReceivedAtOffset) = PackedInstant.Pack(value);
    }

    /// <summary>Newest device timestamp seen, whatever the message.</summary>
    public DateTimeOffset? LastTimestamp
    {
        get => PackedInstant.Unpack(_lastTimestamp, _lastTimestampOffset);
        set => (_lastTimestamp, _lastTimestampOffset) = PackedInstant.Pack(value);
    }

    /// <summary>
    /// Newest device timestamp of a reading judged by the threshold, flag and rate rules: a rule
    /// with no state of its own ignores readings older than this (late or redelivered).
    /// </summary>
    public DateTimeOffset? LastLevelTimestamp
    {
        get => PackedInstant.Unpack(_lastLevelTimestamp, _lastLevelTimestampOffset);
        set => (_lastLevelTimestamp, _lastLevelTimestampOffset) = PackedInstant.Pack(value);
    }

    // One state per device (100,000 in a city): the three instants are kept packed (PackedInstant) instead of
    // DateTimeOffset and nullable ones (16 + 24 + 24 bytes), the same values in 30 bytes; a state is 80 bytes instead of 112.
    private long _lastReceivedAt;
    private long _lastTimestamp;
    private long _lastLevelTimestamp;
    private short _lastReceivedAtOffset;
    private short _lastTimestampOffset = PackedInstant.None;
    private short _lastLevelTimestampOffset = PackedInstant.None;

    /// <summary>The device it depends on (its birth's <c>parent</c>: a lamp's cabinet).</summary>
    public string? Parent { get; set; }

    /// <summary>The saved fields as a value, for a save written off the alert thread (the identity is immutable, the rest values).</summary>
    internal DeviceAlertRow Row() => new(
        _identity, _profileId, Parent, _lastReceivedAt, _lastTimestamp, _lastLevelTimestamp, _lastReceivedAtOffset, _lastTimestampOffset, _lastLevelTimestampOffset);
}

/// <summary>Evaluation state of one rule on one device.</summary>
public sealed class RuleAlertState
{
    public required string DeviceId { get; set; }

    public required string Rule { get; set; }

    /// <summary>Newest device timestamp evaluated: older or equal ones are late or duplicates.</summary>
    public DateTimeOffset? LastTimestamp { get; set; }

    /// <summary>Device time since which the raise condition has held (pending <c>for</c>).</summary>
    public DateTimeOffset? ConditionSince { get; set; }

    /// <summary>Engine time the condition started, for the timer that raises without a new reading.</summary>
    public DateTimeOffset? ConditionSinceReceived { get; set; }

    /// <summary>Which side the pending or raised condition is on (+1 above, -1 below).</summary>
    public int Side { get; set; }

    public double? PreviousValue { get; set; }

    public DateTimeOffset? PreviousTimestamp { get; set; }

    public string? OpenAlertId { get; set; }

    public string? LastAlertId { get; set; }

    /// <summary>
    /// Offline rules of a device with a parent: the last will arrived at this engine time, and the
    /// alert waits <see cref="AlertingOptions.GroupHoldDown"/> for the parent's own alert to group it.
    /// </summary>
    public DateTimeOffset? PendingSince { get; set; }

    /// <summary>Offline rules: an operator resolved the alert; the deadman counts from here.</summary>
    public DateTimeOffset? ArmedAt { get; set; }

    /// <summary>Engine times of recent raises and resolves (flapping window).</summary>
    /// <summary>Made on the first raise: most rule states never need one.</summary>
    public List<DateTimeOffset>? FlapTimes { get; set; }

    public bool Flapping { get; set; }

    /// <summary>A copy for a save written off the alert thread: the flap times are the only mutable reference.</summary>
    internal RuleAlertState Copy()
    {
        var copy = (RuleAlertState)MemberwiseClone();
        copy.FlapTimes = FlapTimes is null ? null : [.. FlapTimes];
        return copy;
    }
}

internal sealed class AlertEngineSnapshot
{
    public int Version { get; set; } = 1;

    public List<Alert> Alerts { get; set; } = [];

    /// <summary>Null in the main file: the devices live in their own file, saved less often.</summary>
    public List<DeviceAlertState>? Devices { get; set; }

    /// <summary>The devices as copied for a save off the alert thread (not serialised here: written to their own file).</summary>
    internal DeviceAlertRows? DeviceRows { get; set; }

    public List<RuleAlertState> Rules { get; set; } = [];
}

using System.Text.Json.Serialization;

namespace SmartCity.Telemetry.Lighting;

/// <summary>What a command is addressed to; lamps are found through the device registry.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TargetKind>))]
public enum TargetKind
{
    [JsonStringEnumMemberName("lamp")] Lamp,
    [JsonStringEnumMemberName("site")] Site,
    [JsonStringEnumMemberName("district")] District,
    /// <summary>The lamps whose birth names the cabinet as their <c>parent</c>.</summary>
    [JsonStringEnumMemberName("cabinet")] Cabinet,
}

/// <summary>A lamp's answer to one command, or what the worker concluded.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CommandStatus>))]
public enum CommandStatus
{
    /// <summary>Sent, waiting for an acknowledgement or telemetry at the level.</summary>
    [JsonStringEnumMemberName("pending")] Pending,
    [JsonStringEnumMemberName("confirmed")] Confirmed,
    /// <summary>The lamp acknowledged with an outcome other than <c>done</c>.</summary>
    [JsonStringEnumMemberName("refused")] Refused,
    /// <summary>No confirmation within <c>Lighting:ConfirmTimeout</c>: a <c>command_not_followed</c> alert.</summary>
    [JsonStringEnumMemberName("timed_out")] TimedOut,
    /// <summary>A newer command to the same lamp replaced it before it was confirmed.</summary>
    [JsonStringEnumMemberName("superseded")] Superseded,
}

/// <summary>
/// The device capabilities a profile lists (<c>"commands": ["switch", "dim"]</c>): a lamp is only
/// ever sent what its profile says it understands.
/// </summary>
public static class LampCapabilities
{
    public const string Switch = "switch";
    public const string Dim = "dim";
    public static readonly IReadOnlyList<string> All = [Switch, Dim];
}

/// <summary>
/// What an operator (or a schedule) asks: switch on or off, or dim to a level (which switches on
/// above 0 %), for a lamp, a site, a district or a cabinet's lamps. Transport-neutral: the same
/// request goes to MQTT lamps and, later, to other gateways behind <see cref="ICommandChannel"/>.
/// </summary>
public sealed record CommandRequest
{
    public required TargetKind TargetKind { get; init; }

    public required string Target { get; init; }

    /// <summary>Switch on (true) or off (false); null with a <see cref="DimPct"/>: on at that level.</summary>
    public bool? On { get; init; }

    /// <summary>Dim level, percent (0..100).</summary>
    public double? DimPct { get; init; }

    /// <summary>
    /// How long an operator's level lasts (null: until the lamps' schedule's next step, or the next command). When
    /// it ends first, each lamp is given back its schedule's step, else the level it had before (LightingService.Durations.cs).
    /// </summary>
    public TimeSpan? For { get; init; }

    /// <summary>Who sent it: the API key's name, or <c>schedule:{id}</c>.</summary>
    public required string By { get; init; }

    public required string Reason { get; init; }

    /// <summary>
    /// Schedules: a lamp that can switch but not dim is switched (on at a level above 0, off at 0)
    /// instead of skipped. Operator commands are exact: a dim command skips such a lamp.
    /// </summary>
    [JsonIgnore]
    public bool SwitchWhereNoDim { get; init; }

    /// <summary>A schedule's step (or its level sent again): not for lamps whose network runs the schedule itself.</summary>
    [JsonIgnore]
    public bool FromSchedule { get; init; }

    /// <summary>The schedule whose step this is: its command reaches only the lamps that schedule drives (a site's own schedule wins over its district's).</summary>
    [JsonIgnore]
    public string? ScheduleId { get; init; }

    /// <summary>The capability the lamps need for it.</summary>
    [JsonIgnore]
    public string Capability => DimPct is null ? LampCapabilities.Switch : LampCapabilities.Dim;

    /// <summary>The state asked for: on at <see cref="DimPct"/> (100 % when switched on without one), or off.</summary>
    [JsonIgnore]
    public (bool On, double DimPct) Desired => DimPct is { } d ? (d > 0, d) : On == true ? (true, 100) : (false, 0);
}

/// <summary>One lamp's part of a command, from sending to its outcome; kept in the history.</summary>
public sealed record LampCommand
{
    public required string CommandId { get; init; }

    public required string DeviceId { get; init; }

    public required string Sector { get; init; }

    public required string District { get; init; }

    public required string Site { get; init; }

    public required string DeviceType { get; init; }

    public required string Profile { get; init; }

    public required bool On { get; init; }

    public required double DimPct { get; init; }

    public required string By { get; init; }

    public required string Reason { get; init; }

    public required DateTimeOffset SentAt { get; init; }

    /// <summary>Confirmation later than this is a timeout.</summary>
    public required DateTimeOffset DueBy { get; init; }

    /// <summary>
    /// An operator's level lasts until the lamp's schedule changes step (null: no schedule). A transport
    /// whose network runs the schedule itself tells it so (a TALQ override's expiration).
    /// </summary>
    public DateTimeOffset? Until { get; init; }

    public CommandStatus Status { get; init; } = CommandStatus.Pending;

    public DateTimeOffset? OutcomeAt { get; init; }

    /// <summary>How it was confirmed or refused: <c>ack</c>, <c>telemetry</c>, <c>timeout</c>, a lamp's own reason.</summary>
    public string? Detail { get; init; }
}

/// <summary>The answer to a command request: every lamp it was sent to, and those skipped with the reason.</summary>
public sealed record CommandReceipt(string CommandId, CommandRequest Request, IReadOnlyList<LampCommand> Sent, IReadOnlyList<SkippedLamp> Skipped);

public sealed record SkippedLamp(string DeviceId, string Reason);

/// <summary>A request that cannot be carried out, and why (the API answers 4xx with it).</summary>
public sealed record CommandRefusal(string Title, string Detail, bool NotFound);

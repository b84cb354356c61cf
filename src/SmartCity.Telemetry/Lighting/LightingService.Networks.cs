using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// Lamps whose own network runs their schedule (a TALQ gateway holding the schedule as a calendar,
/// <see cref="ICommandChannel.SchedulesItself"/>): one scheduler per lamp. A schedule step is not sent to them
/// (an override every step would fight the calendar and flood the gateway) but recorded as pending all the same,
/// so the lamp's reports confirm that it followed its calendar, and one that does not raises
/// <c>command_not_followed</c> as any lamp. Operator commands still go, carrying the time of the schedule's next
/// step so the network returns to its calendar then.
/// </summary>
public sealed partial class LightingService
{
    /// <summary>The command id of a level that comes from a schedule rather than from a command (LevelFor).</summary>
    private const string ScheduleLevelPrefix = "schedule:";

    public const string KeptByNetworkDetail = "not sent: its gateway's calendar sets this level; its reports confirm it";

    public const string ScheduledByNetworkReason = "offline, and scheduled by its own network (its gateway's calendar): nothing to send when it is back";

    /// <summary>An offline lamp of such a network is not given the step on its return: its skip no longer reads "offline...".</summary>
    private IReadOnlyList<SkippedLamp> LeaveToTheirNetwork(CommandRequest request, IReadOnlyList<SkippedLamp> skipped) =>
        request.FromSchedule && skipped.Any(s => _channel.SchedulesItself(s.DeviceId))
            ? [.. skipped.Select(s => _channel.SchedulesItself(s.DeviceId) ? s with { Reason = ScheduledByNetworkReason } : s)]
            : skipped;

    /// <summary>
    /// A schedule's command to a lamp of such a network is kept, not sent; any command waits for the lamp's
    /// report period on top of the confirmation timeout.
    /// </summary>
    private LampCommand ForNetwork(CommandRequest request, LampCommand command)
    {
        var waited = command with { DueBy = command.DueBy + _channel.ReportPeriod(command.DeviceId) };
        return request.FromSchedule && _channel.SchedulesItself(command.DeviceId) ? waited with { Detail = KeptByNetworkDetail } : waited;
    }

    private static bool KeptByNetwork(LampCommand command) => command.Detail == KeptByNetworkDetail;

    /// <summary>A level a schedule set (directly, or by a schedule's command): sent again at a birth only to lamps the worker schedules.</summary>
    private bool IsScheduleLevel(LampLevel level) =>
        level.CommandId.StartsWith(ScheduleLevelPrefix, StringComparison.Ordinal)
        || (History(c => c.CommandId == level.CommandId, 1) is [var command] && command.By.StartsWith(ScheduleLevelPrefix, StringComparison.Ordinal));

    /// <summary>When the lamp's schedule changes step next, seen from <paramref name="now"/>; null without a schedule.</summary>
    private DateTimeOffset? NextStep(DeviceRecord lamp, DateTimeOffset now) =>
        ScheduleOf(lamp.District, lamp.Site) is { } schedule ? _calculator.StateAt(schedule, now).Until : null;
}

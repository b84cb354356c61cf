using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// Lamps whose own network runs their schedule (a TALQ gateway holding the schedule as a calendar,
/// <see cref="ICommandChannel.SchedulesItself"/>): one scheduler per lamp. Schedule steps skip them, so the
/// worker does not send an override every step that fights the calendar; operator commands still go, and
/// carry the time of the schedule's next step so the network returns to its calendar then.
/// </summary>
public sealed partial class LightingService
{
    /// <summary>The command id of a level that comes from a schedule rather than from a command (LevelFor).</summary>
    private const string ScheduleLevelPrefix = "schedule:";

    public const string ScheduledByNetworkReason = "scheduled by its own network (its gateway's calendar): schedule steps are not sent to it";

    private (IReadOnlyList<PlannedLamp> Lamps, IReadOnlyList<SkippedLamp> Skipped) LeaveToTheirNetwork(
        CommandRequest request, IReadOnlyList<PlannedLamp> lamps, IReadOnlyList<SkippedLamp> skipped)
    {
        if (!request.FromSchedule || (!lamps.Any(l => _channel.SchedulesItself(l.Device.DeviceId)) && !skipped.Any(s => _channel.SchedulesItself(s.DeviceId))))
        {
            return (lamps, skipped);
        }

        // An offline lamp of such a network is not given the step on its return either: its reason is no longer "offline".
        var left = lamps.Where(l => _channel.SchedulesItself(l.Device.DeviceId)).Select(l => new SkippedLamp(l.Device.DeviceId, ScheduledByNetworkReason));
        var kept = skipped.Select(s => _channel.SchedulesItself(s.DeviceId) ? s with { Reason = ScheduledByNetworkReason } : s);
        return ([.. lamps.Where(l => !_channel.SchedulesItself(l.Device.DeviceId))], [.. kept.Concat(left)]);
    }

    /// <summary>When the lamp's schedule changes step next, seen from <paramref name="now"/>; null without a schedule.</summary>
    private DateTimeOffset? NextStep(DeviceRecord lamp, DateTimeOffset now) =>
        ScheduleOf(lamp.District, lamp.Site) is { } schedule ? _calculator.StateAt(schedule, now).Until : null;
}

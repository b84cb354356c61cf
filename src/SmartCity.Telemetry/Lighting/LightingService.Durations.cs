using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// Operator commands with a duration (<see cref="CommandRequest.For"/>): the level lasts until the duration ends or the
/// lamp's schedule changes step, whichever comes first (<see cref="LampCommand.Until"/>, a TALQ override's expiration).
/// When the duration ends first the worker gives the lamp back its schedule's step in force, or, without a schedule,
/// the level it had before the command (nothing, when none was known).
/// </summary>
public sealed partial class LightingService
{
    private DateTimeOffset? Until(CommandRequest request, DeviceRecord lamp, DateTimeOffset now) =>
        (NextStep(lamp, now), request.For) switch
        {
            ({ } step, { } lasts) => step < now + lasts ? step : now + lasts,
            (null, { } lasts) => now + lasts,
            (var step, null) => step,
        };

    /// <summary>The level to keep for a lamp: with its end and the level to go back to when the command has a duration.</summary>
    private static LampLevel Lasting(CommandRequest request, LampLevel level, LampLevel? before, DateTimeOffset now) =>
        request.For is { } lasts
            // A duration over another duration goes back to the level before both.
            ? level with { Ends = now + lasts, Then = before?.Ends is not null ? before.Then : before }
            : level;

    private async Task EndDurationsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        List<(DeviceRecord Lamp, LampLevel Level)> ended;
        lock (_gate)
        {
            // A lamp the registry does not know yet (just after a start) keeps its end for a later tick.
            ended = [.. _state.Levels.Where(l => l.Value.Ends <= now)
                .Select(l => (Lamp: _registry.Find(l.Key), Level: l.Value)).Where(l => l.Lamp is not null).Select(l => (l.Lamp!, l.Level))];
            foreach (var (lamp, level) in ended.Select(e => (e.Lamp.DeviceId, e.Level)))
            {
                // Once: the level stays until the command that gives the lamp back its level replaces it.
                _state.Levels[lamp] = level with { Ends = null, Then = null };
                _dirty = true;
            }
        }

        foreach (var (lamp, level) in ended)
        {
            var lampId = lamp.DeviceId;
            var schedule = ScheduleOf(lamp.District, lamp.Site);
            var back = schedule is null ? level.Then : ScheduleLevel(schedule, now);
            if (back is null)
            {
                continue;
            }

            await SubmitAsync(new CommandRequest
            {
                TargetKind = TargetKind.Lamp,
                Target = lampId,
                On = back.On,
                DimPct = back.On ? back.DimPct : null,
                By = "lighting",
                Reason = $"end of {level.CommandId}'s duration: " + (schedule is null ? $"back to the level of {back.CommandId}" : $"back to schedule {schedule.Id}"),
                SwitchWhereNoDim = true,
                FromSchedule = schedule is not null,
            }, cancellationToken).ConfigureAwait(false);
        }
    }

    private LampLevel ScheduleLevel(LightingSchedule schedule, DateTimeOffset now)
    {
        var state = _calculator.StateAt(schedule, now);
        return new LampLevel(state.On, state.On ? state.DimPct : 0, ScheduleLevelPrefix + schedule.Id);
    }
}

using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Telemetry.Lighting;

/// <summary>The schedules: each tick sends the step in force when it was not sent yet (also the first tick after a restart).</summary>
public sealed partial class LightingService
{
    /// <summary>The state each schedule asks for now.</summary>
    public IReadOnlyList<(LightingSchedule Schedule, ScheduleState State)> ScheduleStates()
    {
        var now = _time.GetUtcNow();
        return [.. _schedules.Select(s => (s, _calculator.StateAt(s, now)))];
    }

    private async Task RunSchedulesAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        foreach (var schedule in _schedules)
        {
            var state = _calculator.StateAt(schedule, now);
            lock (_gate)
            {
                if (_state.AppliedSteps.TryGetValue(schedule.Id, out var applied) && applied == state.Since)
                {
                    continue;
                }
            }

            var request = new CommandRequest
            {
                TargetKind = schedule.Site is null ? TargetKind.District : TargetKind.Site,
                Target = schedule.Site ?? schedule.District!,
                On = state.On,
                DimPct = state.On ? state.DimPct : null,
                By = $"schedule:{schedule.Id}",
                Reason = state.Reason,
                SwitchWhereNoDim = true,
                FromSchedule = true,
                ScheduleId = schedule.Id,
            };
            var (receipt, refusal) = await SubmitAsync(request, cancellationToken).ConfigureAwait(false);
            LogScheduleStep(schedule.Id, state.On, state.DimPct, state.Reason, receipt?.Sent.Count ?? 0, refusal?.Detail ?? "");
            lock (_gate)
            {
                // Also when no lamp is known yet: a lamp born later is sent the step at its birth.
                _state.AppliedSteps[schedule.Id] = state.Since;
                SaveLocked();
            }
        }
    }

    /// <summary>Lamps born (new, or back) since the last tick: their level, as a command of their own.</summary>
    private async Task ResendAsync(CancellationToken cancellationToken)
    {
        List<string> lamps;
        lock (_gate)
        {
            // A command sent to the lamp since its birth already gave it its level.
            lamps = [.. _resend.Where(r => _state.Levels.GetValueOrDefault(r.Key)?.CommandId == r.Value).Select(r => r.Key)];
            _resend.Clear();
        }

        var now = _time.GetUtcNow();
        foreach (var lampId in lamps)
        {
            if (_registry.Find(lampId) is not { } lamp || LevelFor(lamp, now) is not { } level)
            {
                continue;
            }

            var request = new CommandRequest
            {
                TargetKind = TargetKind.Lamp,
                Target = lampId,
                On = level.On,
                DimPct = level.On ? level.DimPct : null,
                By = "lighting",
                Reason = $"back online: level of {level.CommandId} sent again",
                SwitchWhereNoDim = true,
                FromSchedule = IsScheduleLevel(level),
            };
            await SubmitAsync(request, saveFirst: false, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The schedule of a lamp: its site's, else its district's.</summary>
    public LightingSchedule? ScheduleOf(string district, string site) =>
        _schedules.FirstOrDefault(s => s.Site == site && (s.District is null || s.District == district))
        ?? _schedules.FirstOrDefault(s => s.Site is null && s.District == district);

    /// <summary>The level a lamp should have now: its schedule's current step when the step is newer than its last command.</summary>
    private LampLevel? LevelFor(DeviceRecord lamp, DateTimeOffset now)
    {
        LampLevel? commanded;
        lock (_gate)
        {
            commanded = _state.Levels.GetValueOrDefault(lamp.DeviceId);
        }

        if (ScheduleOf(lamp.District, lamp.Site) is not { } schedule)
        {
            return commanded;
        }

        var state = _calculator.StateAt(schedule, now);
        var commandedAt = commanded is null ? (DateTimeOffset?)null : History(c => c.CommandId == commanded.CommandId, 1) is [var first, ..] ? first.SentAt : null;
        return commandedAt is { } at && at >= state.Since ? commanded : new LampLevel(state.On, state.On ? state.DimPct : 0, ScheduleLevelPrefix + schedule.Id);
    }

    /// <summary>
    /// Whether a birth of <paramref name="deviceId"/> has queued its re-send for the next tick. For tests on a fake clock:
    /// the registry has a lamp before lighting has seen its birth, and a tick run in between sends it nothing.
    /// </summary>
    internal bool ResendQueued(string deviceId)
    {
        lock (_gate)
        {
            return _resend.ContainsKey(deviceId);
        }
    }
}

using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// <c>event</c>: an event point whose <c>event</c> value is the rule's raises (one alert per burst);
/// its <c>clearEvent</c>, or <c>resolveAfterQuiet</c> without a repeat, resolves.
/// </summary>
public sealed class EventEvaluator : IRuleEvaluator
{
    private const string EventField = "event";

    public RuleKind Kind => RuleVocabulary.Event;

    public bool Observe(IRuleContext context, AlertRule rule, RuleAlertState? state, Point point)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(point);
        if (point.GetField(EventField) is not { Type: FieldType.String } value)
        {
            return false;
        }

        var clears = rule.ClearEvent is { } clearEvent && value.Text == clearEvent;
        if (!clears && value.Text != rule.Event)
        {
            return false;
        }

        var ts = point.Timestamp;
        var rs = state ?? context.StateOf(rule);
        if (rs.LastTimestamp is { } last && ts <= last)
        {
            // A redelivery, or a late copy of an event already judged: a video_restored that
            // arrives after a newer video_loss must not close the newer incident.
            return false;
        }

        rs.LastTimestamp = ts;
        if (clears)
        {
            // Cleared whatever the schedule: the panel's alarm_cleared at 08:01 still closes the night's alarm.
            if (context.OpenAlert(rs) is { } cleared)
            {
                context.Resolve(cleared, rs, context.Now, $"event {rule.ClearEvent}", null, ts);
            }

            return false;
        }

        if (!context.Applies(rule.Schedule, ts))
        {
            return false;
        }

        if (context.OpenAlert(rs) is { } open)
        {
            // One alert per burst: a door forced again while the first is open is the same incident.
            context.Recur(open, ts);
            return false;
        }

        context.Raise(rule, rs, context.Now, null, $"event {rule.Event}", ts);
        return false;
    }

    public void Tick(IRuleContext context, AlertRule rule, RuleAlertState? state)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        var now = context.Now;
        if (rule.ResolveAfterQuiet is { } quiet
            && state is not null
            && context.OpenAlert(state) is { } open
            && now - (open.LastOccurrenceAt ?? open.RaisedAt) >= quiet
            && RuleTime.SilentInDeviceTime(open.LastOccurrenceDeviceTime, open.LastOccurrenceAt ?? open.RaisedAt, context.DeviceNow, quiet))
        {
            // What is happening now: the motion stopped. Both clocks, as for silence, so
            // queued events still draining after an outage keep the alert open.
            context.Resolve(open, state, now, $"no {rule.Event} for {RuleTime.Format(quiet)}", null);
        }
    }
}

using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// <c>offline</c>: silence for <c>OfflineAfterIntervals</c> expected intervals (on both clocks), or a
/// last will (raised by the engine, after the group hold-down for a device with a parent), raises;
/// any newer message or birth resolves. Wills and births reach the engine directly; this judges
/// messages and silence.
/// </summary>
public sealed class OfflineEvaluator : IRuleEvaluator
{
    public RuleKind Kind => RuleVocabulary.Offline;

    public bool Observe(IRuleContext context, AlertRule rule, RuleAlertState? state, Point point)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(point);
        if (state is not null)
        {
            context.BackOnline(state, point.Timestamp, "a message arrived");
        }

        return false;
    }

    public void Tick(IRuleContext context, AlertRule rule, RuleAlertState? state)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        var now = context.Now;
        var device = context.Device;
        if (state is not null && context.OpenAlert(state) is null && state.PendingSince is { } pending)
        {
            if (context.GroupUnderParent(rule))
            {
                state.PendingSince = null;
            }
            else if (now - pending >= context.Options.GroupHoldDown)
            {
                state.PendingSince = null;
                context.Raise(rule, state, now, null, $"last will at {pending:O}: the device disconnected (no parent alert groups it)", device.LastTimestamp);
            }
        }
        else if (context.Profile is { } profile && (state is null || context.OpenAlert(state) is null))
        {
            var silentSince = state?.ArmedAt is { } armed && armed > device.LastReceivedAt ? armed : device.LastReceivedAt;
            var limit = profile.ExpectedInterval * context.Options.OfflineAfterIntervals;
            if (now - silentSince >= limit
                && RuleTime.SilentInDeviceTime(device.LastTimestamp, device.LastReceivedAt, context.DeviceNow, limit)
                && !context.GroupUnderParent(rule))
            {
                state ??= context.StateOf(rule);
                state.LastTimestamp = device.LastTimestamp;
                context.Raise(rule, state, now, null, $"no message for {RuleTime.Format(now - device.LastReceivedAt)}", device.LastTimestamp);
            }
        }
    }
}

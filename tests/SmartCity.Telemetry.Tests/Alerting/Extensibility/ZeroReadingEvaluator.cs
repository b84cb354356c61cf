using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Tests.Alerting.Extensibility;

/// <summary>
/// A rule kind the worker does not ship, written the way a new one is: <c>zero_reading</c> raises
/// when the rule's field reads exactly 0 (a meter that stopped counting) and resolves on the first
/// reading that is not. One file; the test registers it with <c>RuleEvaluators.BuiltIn.With(...)</c>.
/// </summary>
public sealed class ZeroReadingEvaluator : IRuleEvaluator
{
    public static readonly RuleKind ZeroReading = new("zero_reading") { NeedsField = true };

    public RuleKind Kind => ZeroReading;

    public bool Observe(IRuleContext context, AlertRule rule, RuleAlertState? state, Point point)
    {
        var reading = point.GetField(rule.Field ?? "") switch
        {
            { Type: FieldType.Float } f => f.Number,
            { Type: FieldType.Integer } f => f.Integer,
            _ => (double?)null,
        };
        if (reading is not { } value)
        {
            return false;
        }

        if (state is null && value != 0)
        {
            return true; // nothing open, nothing to remember
        }

        var rs = state ?? context.StateOf(rule);
        var open = context.OpenAlert(rs);
        if (value == 0 && open is null)
        {
            context.Raise(rule, rs, context.Now, value, $"{rule.Field} reads 0", point.Timestamp);
        }
        else if (value != 0 && open is not null)
        {
            context.Resolve(open, rs, context.Now, $"{rule.Field} counts again", value, point.Timestamp);
        }

        return true;
    }

    public void Tick(IRuleContext context, AlertRule rule, RuleAlertState? state)
    {
        // Judged on readings only: no timers.
    }
}

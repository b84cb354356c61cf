using System.Globalization;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// What threshold, flag and rate rules share: a numeric reading is judged against raise levels,
/// the condition must hold for the rule's <c>for</c> (on device time) before it raises, and the
/// alert clears when the reading is back (with hysteresis). The kinds differ in what the breach is
/// and in what is judged (the reading, or its rate of change).
/// </summary>
public abstract class LevelEvaluator : IRuleEvaluator
{
    public abstract RuleKind Kind { get; }

    /// <summary>A condition still holding raises on a tick once its <c>for</c> passed without a newer reading.</summary>
    protected virtual bool RaisesOnTick => true;

    /// <summary>Every reading is remembered, even within limits (a rate needs the previous one).</summary>
    protected virtual bool RemembersEveryReading => false;

    public bool Observe(IRuleContext context, AlertRule rule, RuleAlertState? state, Point point)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(point);
        if (Numeric(point.GetField(rule.Field ?? "")) is not { } value)
        {
            return false;
        }

        ObserveLevel(context, rule, state, value, point.Timestamp);
        return true;
    }

    public void Tick(IRuleContext context, AlertRule rule, RuleAlertState? state)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(rule);
        var now = context.Now;
        if (RaisesOnTick
            && state is not null
            && rule.For > TimeSpan.Zero
            && context.OpenAlert(state) is null
            && state.ConditionSinceReceived is { } since
            && now - since >= rule.For
            && context.Applies(rule.Schedule, now)
            && !context.IsOffline()
            && !context.Inhibited(rule)
            && !context.GroupUnderParent(rule))
        {
            // The device reports on change only (or its next reading is late): the last reading still holds.
            context.Raise(rule, state, now, state.PreviousValue, $"held for {RuleTime.Format(rule.For)} (no newer reading)");
        }
    }

    /// <summary>
    /// The side of the rule's levels the value is on: +1 above <see cref="AlertRule.Above"/>, -1 below
    /// <see cref="AlertRule.Below"/>, 0 within limits.
    /// </summary>
    public virtual int Breach(AlertRule rule, double value)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return rule.Above is { } a && value > a ? 1 : rule.Below is { } b && value < b ? -1 : 0;
    }

    /// <summary>
    /// Whether a raised alert (raised on <paramref name="side"/>) clears at this value. With a
    /// <see cref="AlertRule.Clear"/> level the value must be past it (hysteresis: between the clear and
    /// the raise level the alert stays); without one it clears as soon as it is within limits.
    /// </summary>
    public virtual bool Clears(AlertRule rule, double value, int side)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return side switch
        {
            1 when rule.Clear is { } c && rule.Above is { } a && c <= a => value < c || (c == a && value <= a),
            1 => rule.Above is not { } above || value <= above,
            -1 when rule.Clear is { } c && rule.Below is { } b && c >= b => value > c || (c == b && value >= b),
            -1 => rule.Below is not { } below || value >= below,
            _ => Breach(rule, value) == 0,
        };
    }

    /// <summary>What the reading is called in the alert's comment.</summary>
    protected virtual string Describe(AlertRule rule) => rule.Field ?? rule.Rule;

    /// <summary>
    /// The value to judge and the device time its condition would start: the reading itself here;
    /// null when there is nothing to judge yet.
    /// </summary>
    protected virtual (double Observed, DateTimeOffset ConditionStart)? Measure(RuleAlertState state, double value, DateTimeOffset ts)
    {
        ArgumentNullException.ThrowIfNull(state);
        state.PreviousValue = value;
        return (value, ts);
    }

    private void ObserveLevel(IRuleContext context, AlertRule rule, RuleAlertState? state, double value, DateTimeOffset ts)
    {
        var device = context.Device;
        if (state is null && !RemembersEveryReading)
        {
            // Nothing open or pending for this rule: a reading within limits (or outside the rule's
            // schedule: a lamp off at noon) changes nothing, and a late one (older than the newest
            // reading judged on this device) must not start a condition newer readings ruled out.
            if (Breach(rule, value) == 0
                || (device.LastLevelTimestamp is { } newest && ts <= newest)
                || !context.Applies(rule.Schedule, ts))
            {
                return;
            }
        }

        var rs = state ?? context.StateOf(rule);
        if (rs.LastTimestamp is { } last && ts <= last)
        {
            return; // late or duplicate: judged already by a newer reading, it must not flip the state back
        }

        rs.LastTimestamp = ts;
        if (Measure(rs, value, ts) is not var (observed, conditionStart))
        {
            return;
        }

        if (context.OpenAlert(rs) is { } open)
        {
            // Clearing is judged even outside the schedule: CO2 that falls after school closes the alert.
            if (Clears(rule, observed, rs.Side))
            {
                context.Resolve(open, rs, context.Now, $"{Describe(rule)} cleared", observed, ts);
            }

            return;
        }

        Pending(context, rule, rs, observed, conditionStart, ts);
    }

    /// <summary>No alert open: the condition starts, goes on (and raises once it held for the rule's <c>for</c>) or ends.</summary>
    private void Pending(IRuleContext context, AlertRule rule, RuleAlertState rs, double observed, DateTimeOffset conditionStart, DateTimeOffset ts)
    {
        var side = Breach(rule, observed);
        if (side == 0 || !context.Applies(rule.Schedule, ts))
        {
            rs.ConditionSince = null;
            rs.ConditionSinceReceived = null;
            return;
        }

        if (rs.ConditionSince is null || rs.Side != side)
        {
            rs.ConditionSince = conditionStart;
            rs.ConditionSinceReceived = context.Now;
            rs.Side = side;
        }

        if (ts - rs.ConditionSince >= rule.For && !context.Inhibited(rule) && !context.GroupUnderParent(rule))
        {
            context.Raise(rule, rs, context.Now, observed, $"{Describe(rule)} = {observed.ToString(CultureInfo.InvariantCulture)}", ts);
        }
    }

    private static double? Numeric(FieldValue? field) => field switch
    {
        { Type: FieldType.Float } f => f.Number,
        { Type: FieldType.Integer } f => f.Integer,
        { Type: FieldType.Boolean } f => f.Boolean ? 1 : 0, // the profiles' convention: false = 0, true = 1
        _ => null,
    };
}

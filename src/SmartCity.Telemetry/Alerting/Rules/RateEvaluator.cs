using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// <c>rate</c>: the change of a field per minute between two readings, judged against <c>above</c>
/// and <c>below</c> (a stuck sensor is one whose value moves in neither direction).
/// </summary>
public sealed class RateEvaluator : LevelEvaluator
{
    public override RuleKind Kind => RuleVocabulary.Rate;

    /// <summary>A rate has no condition without a new reading to compare with.</summary>
    protected override bool RaisesOnTick => false;

    protected override bool RemembersEveryReading => true;

    protected override string Describe(AlertRule rule) => $"rate of {rule.Field} per minute";

    protected override (double Observed, DateTimeOffset ConditionStart)? Measure(RuleAlertState state, double value, DateTimeOffset ts)
    {
        ArgumentNullException.ThrowIfNull(state);
        var (previous, previousAt) = (state.PreviousValue, state.PreviousTimestamp);
        state.PreviousValue = value;
        state.PreviousTimestamp = ts;
        if (previous is not { } p || previousAt is not { } pAt)
        {
            return null; // the first reading has nothing to compare with
        }

        // The size of the change: a stuck sensor is one whose value moves in neither direction.
        return (Math.Abs(value - p) / (ts - pAt).TotalMinutes, pAt);
    }
}

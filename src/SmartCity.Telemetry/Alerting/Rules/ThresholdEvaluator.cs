using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary><c>threshold</c>: a reading above <c>above</c> or below <c>below</c> for <c>for</c> raises; back within limits (past <c>clear</c>) resolves.</summary>
public sealed class ThresholdEvaluator : LevelEvaluator
{
    public override RuleKind Kind => RuleVocabulary.Threshold;
}

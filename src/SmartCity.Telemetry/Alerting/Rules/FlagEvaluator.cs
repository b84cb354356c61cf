using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary><c>flag</c>: a boolean field that is true (1) for <c>for</c> raises; false resolves.</summary>
public sealed class FlagEvaluator : LevelEvaluator
{
    public override RuleKind Kind => RuleVocabulary.Flag;

    public override int Breach(AlertRule rule, double value) => value >= 0.5 ? 1 : 0;

    public override bool Clears(AlertRule rule, double value, int side) => value < 0.5;
}

using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// Judges the rules of one kind. The engine owns the alerts and their lifecycle; an evaluator only
/// decides, through the <see cref="IRuleContext"/>, when a rule of its kind raises or resolves.
/// A new kind is one evaluator plus its entry in <see cref="RuleEvaluators"/> (and, for the profile
/// loader, its <see cref="RuleKind"/> in the vocabulary).
/// </summary>
public interface IRuleEvaluator
{
    /// <summary>The kind as profiles spell it, with the properties it takes.</summary>
    RuleKind Kind { get; }

    /// <summary>
    /// A point of the context's device reached an enabled rule of this kind. <paramref name="state"/> is
    /// the rule's state on the device, null while it has nothing to remember. True when the point
    /// carried a reading the rule judged (it moves the device's newest judged reading on).
    /// </summary>
    bool Observe(IRuleContext context, AlertRule rule, RuleAlertState? state, Point point);

    /// <summary>Periodic work for an enabled rule of this kind on the context's device (timers, silence).</summary>
    void Tick(IRuleContext context, AlertRule rule, RuleAlertState? state);
}

using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// The evaluators the engine judges rules with, one per kind name, and the vocabulary they make
/// for the profile loader. <see cref="BuiltIn"/> is the list of shipped kinds: a new kind is one
/// line here (and its <see cref="RuleKind"/> in <see cref="RuleVocabulary"/>); a host's or a test's
/// own kind comes through <see cref="With"/>, without touching either.
/// </summary>
public sealed class RuleEvaluators
{
    public static readonly RuleEvaluators BuiltIn = new(
    [
        new ThresholdEvaluator(),
        new FlagEvaluator(),
        new EventEvaluator(),
        new OfflineEvaluator(),
        new RateEvaluator(),
    ]);

    private readonly Dictionary<string, IRuleEvaluator> _byKind;

    public RuleEvaluators(IEnumerable<IRuleEvaluator> evaluators)
    {
        ArgumentNullException.ThrowIfNull(evaluators);
        All = [.. evaluators];
        _byKind = new(StringComparer.Ordinal);
        foreach (var e in All)
        {
            if (!_byKind.TryAdd(e.Kind.Name, e))
            {
                throw new ArgumentException($"two evaluators for rule kind '{e.Kind.Name}'", nameof(evaluators));
            }
        }

        Vocabulary = new RuleVocabulary(All.Select(e => e.Kind));
    }

    public IReadOnlyList<IRuleEvaluator> All { get; }

    /// <summary>The kinds these evaluators judge, for <c>ProfileLoader.Parse</c> and <c>CityRulesLoader</c>.</summary>
    public RuleVocabulary Vocabulary { get; }

    /// <summary>These evaluators plus <paramref name="more"/>.</summary>
    public RuleEvaluators With(params IEnumerable<IRuleEvaluator> more) => new([.. All, .. more]);

    /// <summary>The evaluator of that kind, or null (a rule of an unknown kind is not judged).</summary>
    public IRuleEvaluator? For(string kind) => _byKind.GetValueOrDefault(kind);
}

namespace SmartCity.Telemetry.Rules;

/// <summary>
/// One kind of alert rule as the profile and city-rules loaders see it: its name and which of a
/// rule's properties it takes. The alerting engine judges it with the evaluator of the same name.
/// </summary>
/// <param name="Name">The spelling in profiles (<c>"kind": "threshold"</c>).</param>
public sealed record RuleKind(string Name)
{
    /// <summary>Judged on a stored numeric field of the profile (<c>field</c> required).</summary>
    public bool NeedsField { get; init; }

    /// <summary>Raise levels apply (<c>above</c>/<c>below</c>, one required; <c>clear</c> allowed).</summary>
    public bool NeedsLevels { get; init; }

    /// <summary>Raised by an event value (<c>event</c> required; <c>clearEvent</c> and <c>resolveAfterQuiet</c> allowed).</summary>
    public bool NeedsEvent { get; init; }

    /// <summary>A <c>for</c> duration applies; kinds that raise at once refuse one in city overrides.</summary>
    public bool TakesFor { get; init; } = true;
}

/// <summary>
/// The words of alert rules, spelled in one place: rule kinds, severities and schedules. It sits
/// below both the profile loader (which checks profiles against it) and the alerting engine (whose
/// evaluators are registered under these kind names), so neither has to know the other.
/// A new rule kind is one entry here (or, for a kind of one's own, a vocabulary built with
/// <see cref="With"/>) plus one evaluator.
/// </summary>
public sealed class RuleVocabulary
{
    public static readonly RuleKind Threshold = new("threshold") { NeedsField = true, NeedsLevels = true };
    public static readonly RuleKind Flag = new("flag") { NeedsField = true };
    public static readonly RuleKind Event = new("event") { NeedsEvent = true, TakesFor = false };
    public static readonly RuleKind Offline = new("offline") { TakesFor = false };
    public static readonly RuleKind Rate = new("rate") { NeedsField = true, NeedsLevels = true };

    /// <summary>The kinds the worker ships, in the order error messages name them.</summary>
    public static readonly RuleVocabulary BuiltIn = new([Threshold, Flag, Event, Offline, Rate]);

    /// <summary>Severity names, most severe first: the order of the engine's <c>AlertSeverity</c> enum.</summary>
    public static readonly IReadOnlyList<string> Severities = ["critical", "major", "minor", "warning"];

    /// <summary>Schedule names: the order of the engine's <c>AlertSchedule</c> enum.</summary>
    public static readonly IReadOnlyList<string> Schedules = ["always", "night", "day", "school_hours", "closed_hours"];

    private readonly Dictionary<string, RuleKind> _kinds;

    public RuleVocabulary(IEnumerable<RuleKind> kinds)
    {
        ArgumentNullException.ThrowIfNull(kinds);
        Kinds = [.. kinds];
        _kinds = Kinds.ToDictionary(k => k.Name, StringComparer.Ordinal);
    }

    public IReadOnlyList<RuleKind> Kinds { get; }

    /// <summary>The kind of that name, or null when this vocabulary has none.</summary>
    public RuleKind? Find(string name) => _kinds.GetValueOrDefault(name);

    /// <summary>This vocabulary plus <paramref name="kinds"/> (a deployment's or a test's own kinds).</summary>
    public RuleVocabulary With(params IEnumerable<RuleKind> kinds) => new([.. Kinds, .. kinds]);

    /// <summary>"threshold, flag, event, offline or rate": the kinds as an error message lists them.</summary>
    public string Describe() => Join(Kinds.Select(k => k.Name).ToList());

    /// <summary>"a, b or c".</summary>
    public static string Join(IReadOnlyList<string> names) =>
        names.Count <= 1 ? string.Join("", names) : $"{string.Join(", ", names.Take(names.Count - 1))} or {names[^1]}";
}

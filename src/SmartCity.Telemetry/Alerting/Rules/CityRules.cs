using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// One override of a profile rule, for the whole city or a district, a site or a device. Only
/// the properties given change; the rest stay as the profile (or a less specific override) says.
/// </summary>
public sealed record CityRuleOverride
{
    /// <summary>The rule id, as in the profiles (<c>co2_high</c>).</summary>
    public required string Rule { get; init; }

    /// <summary>Only this profile's rule of that id (ids such as <c>battery_low</c> are shared by several profiles).</summary>
    public string? Profile { get; init; }

    public string? District { get; init; }

    public string? Site { get; init; }

    public string? Device { get; init; }

    public bool? Enabled { get; init; }

    public string? Severity { get; init; }

    public double? Above { get; init; }

    public double? Below { get; init; }

    public double? Clear { get; init; }

    public TimeSpan? For { get; init; }

    public string? Schedule { get; init; }

    /// <summary>0 city-wide, 1 district, 2 site, 3 device: the most specific is applied last and wins.</summary>
    [JsonIgnore]
    public int Specificity => Device is not null ? 3 : Site is not null ? 2 : District is not null ? 1 : 0;

    internal bool Matches(DeviceIdentity device, string profileId) =>
        (Profile is null || Profile == profileId)
        && (Device is null || Device == device.DeviceId)
        && (Site is null || Site == device.Site)
        && (District is null || District == device.District);

    internal AlertRule ApplyTo(AlertRule rule) => rule with
    {
        Enabled = Enabled ?? rule.Enabled,
        Severity = Severity is null ? rule.Severity : AlertRule.ParseSeverity(Severity) ?? rule.Severity,
        Above = Above ?? rule.Above,
        Below = Below ?? rule.Below,
        Clear = Clear ?? rule.Clear,
        For = For ?? rule.For,
        Schedule = Schedule is null ? rule.Schedule : AlertRule.ParseSchedule(Schedule) ?? rule.Schedule,
    };
}

/// <summary>The city rules file: <c>{ "overrides": [ ... ] }</c>.</summary>
public sealed record CityRules
{
    public static readonly CityRules None = new();

    public List<CityRuleOverride> Overrides { get; init; } = [];

    /// <summary>The rules in force for one device: the profile's, with matching overrides from least to most specific.</summary>
    public IReadOnlyList<AlertRule> For(DeviceProfile profile, DeviceIdentity device)
    {
        ArgumentNullException.ThrowIfNull(profile);
        // Devices with the same profile and the same overrides share one list: 100,000 lamps hold
        // references to a handful of rule lists, not 100,000 copies of them.
        var key = profile.Id;
        for (var i = 0; i < Overrides.Count; i++)
        {
            if (Overrides[i].Matches(device, profile.Id))
            {
                key += "|" + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        return _shared.GetOrAdd(key, static (_, state) => state.Self.Build(state.Profile, state.Device), (Self: this, Profile: profile, Device: device));
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IReadOnlyList<AlertRule>> _shared = new(StringComparer.Ordinal);

    private List<AlertRule> Build(DeviceProfile profile, DeviceIdentity device)
    {
        var rules = new List<AlertRule>(profile.Alerts.Count);
        foreach (var spec in profile.Alerts)
        {
            var rule = AlertRule.From(spec, profile.Id);
            // OrderBy is stable: at equal specificity the later line of the file wins.
            foreach (var o in Overrides.Where(o => o.Rule == spec.Rule && o.Matches(device, profile.Id)).OrderBy(o => o.Specificity))
            {
                rule = o.ApplyTo(rule);
            }

            rules.Add(rule);
        }

        return rules;
    }
}

/// <summary>The city rules file and every problem found in it, each naming the file, the entry and the rule.</summary>
public sealed record CityRulesLoadResult(CityRules Rules, IReadOnlyList<string> Errors)
{
    public bool Ok => Errors.Count == 0;
}

/// <summary>
/// Reads and checks the city rules file at start, the way <see cref="ProfileLoader"/> checks
/// profiles: unknown properties refused, every problem reported at once, each naming the file,
/// the entry (<c>overrides[2]</c>) and the rule, so a typo cannot silently leave a default in force.
/// </summary>
public static partial class CityRulesLoader
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex Identifier();

    /// <summary>No file configured: the profiles' rules as shipped. A configured file that is missing is an error.</summary>
    public static CityRulesLoadResult Load(string? path, IReadOnlyList<DeviceProfile> profiles, RuleVocabulary? vocabulary = null)
    {
        if (path is null)
        {
            return new(CityRules.None, []);
        }

        if (!File.Exists(path))
        {
            return new(CityRules.None, [$"{path}: city rules file (Alerting:RulesFile) does not exist"]);
        }

        return Parse(path, File.ReadAllBytes(path), profiles, vocabulary);
    }

    public static CityRulesLoadResult Parse(string source, byte[] utf8, IReadOnlyList<DeviceProfile> profiles, RuleVocabulary? vocabulary = null)
    {
        CityRules? rules;
        try
        {
            rules = JsonSerializer.Deserialize<CityRules>(utf8, Json);
        }
        catch (JsonException ex)
        {
            var message = ex.Message;
            var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
            return new(CityRules.None, [$"{source}:{(ex.LineNumber ?? 0) + 1}: {ex.Path ?? "$"}: {(cut > 0 ? message[..cut] : message)}"]);
        }

        if (rules is null)
        {
            return new(CityRules.None, [$"{source}: the file holds no rules object ({{ \"overrides\": [...] }})"]);
        }

        var errors = new List<string>();
        for (var i = 0; i < rules.Overrides.Count; i++)
        {
            var o = rules.Overrides[i];
            foreach (var problem in Check(o, i, rules.Overrides, profiles, vocabulary ?? RuleVocabulary.BuiltIn))
            {
                errors.Add($"{source}: overrides[{i}] (rule '{o.Rule}'): {problem}");
            }
        }

        return errors.Count > 0 ? new(CityRules.None, errors) : new(rules, []);
    }

    private static IEnumerable<string> Check(CityRuleOverride o, int index, List<CityRuleOverride> all, IReadOnlyList<DeviceProfile> profiles, RuleVocabulary vocabulary)
    {
        if (string.IsNullOrEmpty(o.Rule) || !Identifier().IsMatch(o.Rule))
        {
            yield return "rule must be a lowercase identifier";
            yield break;
        }

        if (o.Profile is not null && profiles.All(p => p.Id != o.Profile))
        {
            yield return $"profile '{o.Profile}' is not a known profile";
            yield break;
        }

        var targets = profiles
            .Where(p => o.Profile is null || p.Id == o.Profile)
            .SelectMany(p => p.Alerts.Where(a => a.Rule == o.Rule).Select(a => (Profile: p, Spec: a)))
            .ToList();
        if (targets.Count == 0)
        {
            var known = profiles.SelectMany(p => p.Alerts.Select(a => a.Rule)).Distinct().Order(StringComparer.Ordinal);
            yield return $"no profile{(o.Profile is null ? "" : $" '{o.Profile}'")} has this rule (known rules: {string.Join(", ", known)})";
            yield break;
        }

        foreach (var problem in CheckScope(o).Concat(CheckLevels(o, targets, vocabulary)).Concat(CheckDuplicate(o, index, all)))
        {
            yield return problem;
        }
    }

    private static IEnumerable<string> CheckScope(CityRuleOverride o)
    {
        if (o.Device is not null && (o.Site is not null || o.District is not null))
        {
            yield return "a device override names the device only (a device id is unique in the city); leave out district and site";
        }

        foreach (var (name, value) in new[] { ("district", o.District), ("site", o.Site), ("device", o.Device) })
        {
            if (value is not null && (value.Length is 0 or > 64))
            {
                yield return $"{name} must be 1 to 64 characters, like its topic segment";
            }
        }

        if (o.Severity is not null && AlertRule.ParseSeverity(o.Severity) is null)
        {
            yield return $"severity '{o.Severity}' must be {RuleVocabulary.Join(RuleVocabulary.Severities)}";
        }

        if (o.Schedule is not null && AlertRule.ParseSchedule(o.Schedule) is null)
        {
            yield return $"schedule '{o.Schedule}' must be {RuleVocabulary.Join(RuleVocabulary.Schedules)}";
        }

        if (o.For is { } f && (f < TimeSpan.Zero || f > TimeSpan.FromDays(1)))
        {
            yield return "for must be between 00:00:00 and 1.00:00:00";
        }
    }

    private static IEnumerable<string> CheckLevels(CityRuleOverride o, List<(DeviceProfile Profile, AlertRuleSpec Spec)> targets, RuleVocabulary vocabulary)
    {
        var hasLevels = o.Above is not null || o.Below is not null || o.Clear is not null;
        foreach (var (profile, spec) in targets)
        {
            var kind = vocabulary.Find(spec.Kind);
            if (hasLevels && kind is not { NeedsLevels: true })
            {
                yield return $"above, below and clear apply to threshold and rate rules; in profile '{profile.Id}' it is a {spec.Kind} rule";
                continue;
            }

            if (o.For is not null && kind is { TakesFor: false })
            {
                yield return $"for does not apply to {spec.Kind} rules (profile '{profile.Id}'): they raise at once";
            }

            // The levels this override leaves in force on the profile's rule must still make a hysteresis.
            var above = o.Above ?? spec.Above;
            var below = o.Below ?? spec.Below;
            var clear = o.Clear ?? spec.Clear;
            if (clear is { } c && above is { } a && below is null && c > a)
            {
                yield return $"clear ({Num(c)}) must not be above the raise level above ({Num(a)}) (profile '{profile.Id}')";
            }

            if (clear is { } c2 && below is { } b && above is null && c2 < b)
            {
                yield return $"clear ({Num(c2)}) must not be below the raise level below ({Num(b)}) (profile '{profile.Id}')";
            }
        }
    }

    private static IEnumerable<string> CheckDuplicate(CityRuleOverride o, int index, List<CityRuleOverride> all)
    {
        for (var j = 0; j < index; j++)
        {
            var other = all[j];
            if (other.Rule == o.Rule && other.Profile == o.Profile && other.District == o.District && other.Site == o.Site && other.Device == o.Device)
            {
                yield return $"same rule and scope as overrides[{j}]; merge the two entries";
            }
        }
    }

    private static string Num(double value) => value.ToString(CultureInfo.InvariantCulture);
}

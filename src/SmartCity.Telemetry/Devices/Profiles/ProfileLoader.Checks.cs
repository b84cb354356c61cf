using System.Globalization;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Devices.Profiles;

/// <summary>The checks of a parsed profile: every problem as (JSON path, problem), not only the first.</summary>
public static partial class ProfileLoader
{
    private static IEnumerable<(string Path, string Problem)> Check(DeviceProfile p, IReadOnlyCollection<string> sectors, RuleVocabulary vocabulary)
    {
        foreach (var problem in CheckIdentity(p, sectors))
        {
            yield return problem;
        }

        // Alert rules may only name fields the messages store, so the messages are checked first.
        var stored = new HashSet<string>(StringComparer.Ordinal);
        foreach (var problem in CheckMessages(p, stored))
        {
            yield return problem;
        }

        for (var i = 0; i < p.Commands.Count; i++)
        {
            if (p.Commands[i] is not ("switch" or "dim") || p.Commands.IndexOf(p.Commands[i]) != i)
            {
                yield return ($"$.commands[{i}]", "commands are switch and dim, each listed once (docs/lighting-control.md)");
            }
        }

        for (var i = 0; i < p.Alerts.Count; i++)
        {
            var at = $"$.alerts[{i}]";
            foreach (var problem in CheckAlert(p.Alerts[i], at, stored, vocabulary).Concat(CheckAlertLinks(p, p.Alerts[i], at, vocabulary)))
            {
                yield return problem;
            }
        }
    }

    /// <summary>Who the profile is: id, version, sector, device type, expected interval, at least one message kind.</summary>
    private static IEnumerable<(string Path, string Problem)> CheckIdentity(DeviceProfile p, IReadOnlyCollection<string> sectors)
    {
        if (!Identifier().IsMatch(p.Id))
        {
            yield return ("$.id", "must be a lowercase identifier ([a-z][a-z0-9_]*, at most 64)");
        }

        if (!SemanticVersion().IsMatch(p.Version))
        {
            yield return ("$.version", "must be a semantic version such as 1.0.0");
        }

        if (!sectors.Contains(p.Sector))
        {
            yield return ("$.sector", $"must be one of the configured sectors (Decoding:Sectors): {string.Join(", ", sectors)}");
        }

        if (!TopicParser.IsValidSegment(p.DeviceType))
        {
            yield return ("$.deviceType", "must be a valid topic segment ([A-Za-z0-9_.-], 1..64)");
        }

        if (p.ExpectedInterval <= TimeSpan.Zero || p.ExpectedInterval > TimeSpan.FromDays(1))
        {
            yield return ("$.expectedInterval", "must be between 00:00:01 and 1.00:00:00");
        }

        if (p.Messages.Count == 0)
        {
            yield return ("$.messages", "needs at least one message kind (telemetry or event)");
        }
    }

    /// <summary>Each message kind and its fields; <paramref name="stored"/> receives every field name a point will carry.</summary>
    private static IEnumerable<(string Path, string Problem)> CheckMessages(DeviceProfile p, HashSet<string> stored)
    {
        foreach (var (kind, spec) in p.Messages)
        {
            var at = $"$.messages.{kind}";
            if (!MessageKinds.Contains(kind))
            {
                yield return (at, "message kinds are telemetry and event (status is handled by the device registry)");
            }

            if (!Identifier().IsMatch(spec.Measurement))
            {
                yield return (at + ".measurement", "must be a lowercase identifier");
            }

            if (spec.Versions.Count == 0 || spec.Versions.Any(v => v < 1))
            {
                yield return (at + ".versions", "must list payload versions, each 1 or more");
            }

            var names = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < spec.Fields.Count; i++)
            {
                foreach (var problem in CheckField(spec.Fields[i], $"{at}.fields[{i}]", names))
                {
                    yield return problem;
                }
            }

            foreach (var f in spec.Fields)
            {
                stored.UnionWith(f.Type == FieldKind.Flags ? (f.Values ?? []).Select(f.FlagField) : [f.StoredName]);
            }
        }
    }

    /// <summary>One alert rule on its own: names, kind, schedule, and the field and bounds its kind needs.</summary>
    private static IEnumerable<(string Path, string Problem)> CheckAlert(AlertRuleSpec a, string at, HashSet<string> stored, RuleVocabulary vocabulary)
    {
        if (!Identifier().IsMatch(a.Rule))
        {
            yield return (at + ".rule", "must be a lowercase identifier");
        }

        if (!RuleVocabulary.Severities.Contains(a.Severity))
        {
            yield return (at + ".severity", $"must be {RuleVocabulary.Join(RuleVocabulary.Severities)}");
        }

        var kind = vocabulary.Find(a.Kind);
        if (kind is null)
        {
            yield return (at + ".kind", $"must be {vocabulary.Describe()}");
        }

        if (!RuleVocabulary.Schedules.Contains(a.Schedule))
        {
            yield return (at + ".schedule", $"must be {RuleVocabulary.Join(RuleVocabulary.Schedules)}");
        }

        if (kind is { NeedsField: true } && (a.Field is null || !stored.Contains(a.Field)))
        {
            yield return (at + ".field", $"must name a stored field of this profile ({string.Join(", ", stored.Order(StringComparer.Ordinal))})");
        }

        if (kind is { NeedsLevels: true } && a.Above is null && a.Below is null)
        {
            yield return (at, "a threshold needs above or below");
        }

        if (kind is { NeedsEvent: true } && string.IsNullOrEmpty(a.Event))
        {
            yield return (at + ".event", "an event rule names the event value that raises it");
        }
    }

    /// <summary>What an alert rule refers to: the rules that inhibit it, child groups, and how an event rule clears.</summary>
    private static IEnumerable<(string Path, string Problem)> CheckAlertLinks(DeviceProfile p, AlertRuleSpec a, string at, RuleVocabulary vocabulary)
    {
        for (var j = 0; j < a.InhibitedBy.Count; j++)
        {
            if (a.InhibitedBy[j] == a.Rule || !p.Alerts.Any(other => other.Rule == a.InhibitedBy[j]))
            {
                yield return ($"{at}.inhibitedBy[{j}]", "must name another alert rule of this profile");
            }
        }

        for (var j = 0; j < a.Groups.Count; j++)
        {
            if (!Identifier().IsMatch(a.Groups[j]))
            {
                yield return ($"{at}.groups[{j}]", "must be a rule id (a lowercase identifier) of the child devices' profiles");
            }
        }

        var isEvent = vocabulary.Find(a.Kind) is { NeedsEvent: true };
        if (a.ClearEvent is not null && !isEvent)
        {
            yield return (at + ".clearEvent", "only event rules are cleared by an event; other kinds clear on their own field");
        }
        else if (a.ClearEvent is not null && (a.ClearEvent.Length == 0 || a.ClearEvent == a.Event))
        {
            yield return (at + ".clearEvent", "must name another event value than the one that raises the alert");
        }

        if (a.ResolveAfterQuiet is not null && !isEvent)
        {
            yield return (at + ".resolveAfterQuiet", "only event rules resolve after a quiet period; other kinds clear on their own field");
        }
        else if (a.ResolveAfterQuiet is { } q && (q < TimeSpan.FromMinutes(1) || q > TimeSpan.FromDays(1)))
        {
            yield return (at + ".resolveAfterQuiet", "must be between 00:01:00 and 1.00:00:00");
        }
    }

    private static IEnumerable<(string Path, string Problem)> CheckField(FieldSpec f, string at, HashSet<string> names)
    {
        if (!Identifier().IsMatch(f.Name))
        {
            yield return (at + ".name", "must be a lowercase identifier");
        }
        else if (f.Name is "v" or "ts" or Envelope.DeviceField)
        {
            yield return (at + ".name", "'v', 'ts' and 'device' are the envelope (docs/device-contract.md); do not declare them");
        }
        else if (!names.Add(f.Name))
        {
            yield return (at + ".name", $"'{f.Name}' is declared twice");
        }

        if (f.Field is not null && !Identifier().IsMatch(f.Field))
        {
            yield return (at + ".field", "must be a lowercase identifier");
        }

        if (f.Min is { } min && f.Max is { } max && min > max)
        {
            yield return (at + ".max", $"must not be less than min ({min.ToString(CultureInfo.InvariantCulture)})");
        }

        if ((f.Min is not null || f.Max is not null) && f.Type is not (FieldKind.Float or FieldKind.Int))
        {
            yield return (at + ".min", "min and max apply to float and int fields only");
        }

        if (f.Type is FieldKind.Enum or FieldKind.Flags && (f.Values is null || f.Values.Count == 0 || f.Values.Any(v => !Identifier().IsMatch(v))))
        {
            yield return (at + ".values", "an enum or flags field lists its values, each a lowercase identifier");
        }

        if (f.Type is not (FieldKind.Enum or FieldKind.Flags) && f.Values is not null)
        {
            yield return (at + ".values", "values apply to enum and flags fields only");
        }

        if (f.MaxLength is < 1 or > 4096)
        {
            yield return (at + ".maxLength", "must be between 1 and 4096");
        }
    }
}

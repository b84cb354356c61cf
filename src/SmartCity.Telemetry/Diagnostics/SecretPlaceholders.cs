using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// Values that stand for a secret without being one: what an example file, a template or a
/// half-finished setup leaves behind (<c>.env.example</c> ships <c>change-me-...</c> for every
/// secret). A worker started with one would run with a password every reader of the repository
/// knows, so each secret setting refuses them at start, naming the setting and never the value.
/// deploy/check-secrets.sh applies the same list to the containers we do not build (Grafana,
/// mosquitto); SecretPlaceholderTests keep the two lists equal.
/// </summary>
/// <remarks>
/// A value is a placeholder when, compared without case and ignoring surrounding white space:
/// <list type="bullet">
/// <item>it starts with one of <see cref="Prefixes"/> (<c>change-me-influxdb-admin-token</c>, <c>changeme</c>, <c>your-token-here</c>);</item>
/// <item>it is a template slot: <c>&lt;token&gt;</c>, <c>${TOKEN}</c>;</item>
/// <item>it contains one of <see cref="Infixes"/> (<c>my-placeholder-key</c>);</item>
/// <item>it is one of <see cref="Words"/> (<c>secret</c>, <c>password</c>, <c>todo</c>, ...);</item>
/// <item>it is white space only, or one character repeated at least three times (<c>xxxxxxxx</c>, <c>********</c>).</item>
/// </list>
/// The empty string is not a placeholder: it means "not set", which each setting judges itself
/// (required, or a feature left off).
/// </remarks>
public static class SecretPlaceholders
{
    /// <summary>Values starting with these are placeholders.</summary>
    public static readonly IReadOnlyList<string> Prefixes = ["change-me", "change_me", "changeme", "changeit", "replace-me", "replaceme", "your-", "your_"];

    /// <summary>Values containing these are placeholders.</summary>
    public static readonly IReadOnlyList<string> Infixes = ["placeholder"];

    /// <summary>Values equal to these are placeholders.</summary>
    public static readonly IReadOnlyList<string> Words = ["secret", "password", "passwd", "todo", "tbd", "fixme", "null", "none", "undefined", "example"];

    /// <summary>True when <paramref name="value"/> is set (not null, not empty) but is a placeholder, not a secret.</summary>
    public static bool IsPlaceholder(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return false;
        }

        var v = value.Trim();
        if (v.Length == 0 || (v.Length >= 3 && v.All(c => c == v[0])))
        {
            // White space only, or "xxxxxxxx": nobody's secret.
            return true;
        }

        if ((v.StartsWith('<') && v.EndsWith('>')) || (v.StartsWith("${", StringComparison.Ordinal) && v.EndsWith('}')))
        {
            // A template's slot that nobody filled in (or a variable a shell never expanded).
            return true;
        }

        return Prefixes.Any(p => v.StartsWith(p, StringComparison.OrdinalIgnoreCase))
            || Infixes.Any(p => v.Contains(p, StringComparison.OrdinalIgnoreCase))
            || Words.Any(w => v.Equals(w, StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The validation message (the value itself is never shown: it may be a real secret after all).</summary>
    public const string Message = "is a placeholder (such as change-me from .env.example), not a secret: set a real one, long and random (openssl rand -hex 32)";
}

/// <summary>Refuses a secret setting whose value is a placeholder (<see cref="SecretPlaceholders"/>); null and empty pass.</summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class NotPlaceholderAttribute : ValidationAttribute
{
    public NotPlaceholderAttribute()
        : base(SecretPlaceholders.Message)
    {
    }

    public override bool IsValid(object? value) => !SecretPlaceholders.IsPlaceholder(value as string);
}

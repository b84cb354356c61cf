using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.RegularExpressions;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Worker.Security;

/// <summary>
/// The operator API's access control: who may call it (API keys with a role), how often (rate
/// limit per identity) and from which browser origins (CORS, off unless origins are listed).
/// See docs/operator-api.md.
/// </summary>
public sealed partial class ApiOptions : IValidatableObject
{
    public const string SectionName = "Api";

    /// <summary>Keys accepted as <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>.</summary>
    /// <value>The default value is none: every <c>/api</c> call is answered 401 (the worker logs a warning at start).</value>
    public List<ApiKeyOptions> Keys { get; set; } = [];

    public ApiRateLimitOptions RateLimit { get; set; } = new();

    public ApiCorsOptions Cors { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Keys.Count; i++)
        {
            foreach (var problem in Keys[i].Problems())
            {
                yield return new ValidationResult(problem.Message, [$"Keys:{i}:{problem.Member}"]);
            }

            if (Keys[i].Name is { Length: > 0 } name && !names.Add(name))
            {
                yield return new ValidationResult($"'{name}' is used by another key; names identify who acted, so they must be unique", [$"Keys:{i}:Name"]);
            }
        }

        if (RateLimit.PermitLimit is < 1 or > 1_000_000)
        {
            yield return new ValidationResult("must be between 1 and 1000000 requests per window", ["RateLimit:PermitLimit"]);
        }

        if (RateLimit.Window < TimeSpan.FromSeconds(1) || RateLimit.Window > TimeSpan.FromHours(24))
        {
            yield return new ValidationResult("must be between 00:00:01 and 1.00:00:00", ["RateLimit:Window"]);
        }

        for (var i = 0; i < Cors.AllowedOrigins.Length; i++)
        {
            if (!ApiCorsOptions.IsOrigin(Cors.AllowedOrigins[i]))
            {
                yield return new ValidationResult(
                    "must be an origin such as https://ops.example.org (scheme, host and optional port; no path, no wildcard)",
                    [$"Cors:AllowedOrigins:{i}"]);
            }
        }
    }
}

/// <summary>One API key: whose it is, what it may do, and the key itself (or its hash).</summary>
public sealed partial class ApiKeyOptions
{
    /// <summary>Keys shorter than this are refused: an API key must not be guessable.</summary>
    public const int MinimumKeyLength = 16;

    /// <summary>Who acts with this key; recorded as "by" on acknowledgements, resolutions and comments.</summary>
    public string? Name { get; set; }

    /// <summary><c>viewer</c> (read), <c>operator</c> (viewer + acknowledge, resolve, comment) or <c>admin</c> (operator + admin endpoints).</summary>
    public string? Role { get; set; }

    /// <summary>SHA-256 of the key, 64 hex digits (<c>printf %s KEY | sha256sum</c>): the configuration then holds no usable secret.</summary>
    public string? KeyHash { get; set; }

    /// <summary>The key itself; better from a secret file (<c>KeyFile</c>, or <c>SMARTCITY_SECRETS_DIR</c>) than inline. Never logged.</summary>
    public string? Key { get; set; }

    /// <summary>
    /// The city this key is for (a <c>Tenancy:City</c> / partition map city id); unset: every city
    /// (a regional administrator). A key of another city sees nothing of this worker: no alert, no
    /// device, no rejection; an alert or device it names answers 404.
    /// </summary>
    public string? City { get; set; }

    /// <summary>Optionally narrows <see cref="City"/> to these districts (alerts and devices of others are not shown).</summary>
    public List<string> Districts { get; set; } = [];

    internal IEnumerable<(string Member, string Message)> Problems()
    {
        foreach (var problem in ScopeProblems())
        {
            yield return problem;
        }

        if (string.IsNullOrWhiteSpace(Name))
        {
            yield return ("Name", "is required (who acts with this key, for example anna.operator)");
        }
        else if (!NamePattern().IsMatch(Name))
        {
            yield return ("Name", "must be 1..64 characters of [A-Za-z0-9_.@-]");
        }

        if (!ApiRoles.IsRole(Role))
        {
            yield return ("Role", "must be viewer, operator or admin");
        }

        var hasHash = !string.IsNullOrEmpty(KeyHash);
        var hasKey = !string.IsNullOrEmpty(Key);
        if (hasHash == hasKey)
        {
            yield return ("Key", "set exactly one of Key (or KeyFile) and KeyHash");
        }
        else if (hasHash && !HashPattern().IsMatch(KeyHash!))
        {
            yield return ("KeyHash", "must be the SHA-256 of the key as 64 hex digits");
        }
        else if (hasKey && SecretPlaceholders.IsPlaceholder(Key))
        {
            yield return ("Key", SecretPlaceholders.Message);
        }
        else if (hasKey && Key!.Length < MinimumKeyLength)
        {
            yield return ("Key", string.Create(CultureInfo.InvariantCulture, $"is too short: use at least {MinimumKeyLength} random characters (openssl rand -hex 32)"));
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_.@-]{1,64}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9A-Fa-f]{64}$")]
    private static partial Regex HashPattern();
}

/// <summary>Requests per identity (API key name; remote address when not authenticated) per fixed window.</summary>
public sealed class ApiRateLimitOptions
{
    /// <value>The default value is 600 requests.</value>
    public int PermitLimit { get; set; } = 600;

    /// <value>The default value is 1 minute.</value>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>Browser access from other origins (a dashboard on another host). Off unless origins are listed.</summary>
public sealed class ApiCorsOptions
{
    /// <value>The default value is none: no CORS headers at all, browsers keep other origins out.</value>
    public string[] AllowedOrigins { get; set; } = [];

    internal static bool IsOrigin(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && string.IsNullOrEmpty(uri.UserInfo)
        && uri.AbsolutePath == "/" && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
        && !value!.Contains('*', StringComparison.Ordinal);
}

/// <summary>
/// The three roles; each includes the ones before it. The same roles as the operator console's
/// accounts (one definition, <see cref="SmartCity.OperatorConsole.ConsoleRoles"/>): a person and their key mean the same.
/// </summary>
public static class ApiRoles
{
    public const string Viewer = SmartCity.OperatorConsole.ConsoleRoles.Viewer;
    public const string Operator = SmartCity.OperatorConsole.ConsoleRoles.Operator;
    public const string Admin = SmartCity.OperatorConsole.ConsoleRoles.Admin;

    /// <summary>Authorization policies, one per role, named like it.</summary>
    public static readonly string[] All = SmartCity.OperatorConsole.ConsoleRoles.All;

    public static bool IsRole(string? role) => SmartCity.OperatorConsole.ConsoleRoles.IsRole(role);

    /// <summary>The roles that satisfy <paramref name="role"/>'s policy (admin can do what an operator can, and so on).</summary>
    public static string[] AtLeast(string role) => SmartCity.OperatorConsole.ConsoleRoles.AtLeast(role);
}

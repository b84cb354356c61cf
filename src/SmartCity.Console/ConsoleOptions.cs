using System.ComponentModel.DataAnnotations;

namespace SmartCity.OperatorConsole;

/// <summary>The operator console (<c>/console</c>): accounts, lockout, links and the map. See docs/console.md.</summary>
public sealed class ConsoleOptions : IValidatableObject
{
    public const string SectionName = "Console";

    /// <summary>Serves the console under <c>/console</c>.</summary>
    /// <value>The default value is true.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>The local accounts (hashed passwords, roles, lockout state).</summary>
    /// <value>The default value is empty: <c>console-users.json</c> beside the alert state file (Alerting:StateFile).</value>
    public string? UsersFile { get; set; }

    /// <summary>Wrong passwords in a row before an account is locked.</summary>
    /// <value>The default value is 5.</value>
    [Range(1, 100)]
    public int MaxFailedLogins { get; set; } = 5;

    /// <summary>How long a locked account stays locked.</summary>
    /// <value>The default value is 15 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan LockoutDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a session lasts without activity.</summary>
    /// <value>The default value is 12 hours (an on-call shift).</value>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// Grafana's base URL; an alert page links to the dashboard of the device's sector
    /// (<c>{GrafanaUrl}/d/{uid}?var-district=...&amp;var-site=...&amp;var-device=...</c>).
    /// </summary>
    /// <value>The default value is empty: no link.</value>
    public string? GrafanaUrl { get; set; }

    /// <summary>Dashboard uid per sector; a sector not listed gets <c>smartcity-overview</c>.</summary>
    /// <value>The default value is the shipped dashboards: lighting, security, education (grafana/dashboards).</value>
    public Dictionary<string, string> GrafanaDashboards { get; set; } = new(StringComparer.Ordinal)
    {
        ["lighting"] = "smartcity-lighting",
        ["security"] = "smartcity-security",
        ["education"] = "smartcity-schools",
    };

    /// <summary>Map tiles, e.g. <c>https://tile.openstreetmap.org/{z}/{x}/{y}.png</c>; its origin is added to the page's CSP.</summary>
    /// <value>The default value is empty: the map is a plain plot of positions, usable offline.</value>
    public string? TileUrl { get; set; }

    /// <summary>The tiles' attribution, shown under the map when <see cref="TileUrl"/> is set (the tile licence asks for it).</summary>
    /// <value>The default value is <c>© OpenStreetMap contributors</c>.</value>
    [MaxLength(300)]
    public string TileAttribution { get; set; } = "© OpenStreetMap contributors";

    /// <summary>The deepest zoom the map asks the tile server for (a city's own tile server may render fewer levels).</summary>
    /// <value>The default value is 19 (OpenStreetMap's deepest).</value>
    [Range(3, 22)]
    public int TileMaxZoom { get; set; } = 19;

    /// <summary>A read token for the device readings on alert pages, when the worker's Influx:Token may only write.</summary>
    /// <value>The default value is empty: Influx:Token.</value>
    public string? InfluxToken { get; set; }

    public ConsoleOidcOptions Oidc { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrEmpty(GrafanaUrl) && !IsHttpUrl(GrafanaUrl))
        {
            yield return new ValidationResult("must be an http(s) URL such as https://grafana.city.example", [nameof(GrafanaUrl)]);
        }

        if (!string.IsNullOrEmpty(TileUrl) && (!IsHttpUrl(TileUrl.Replace("{", "", StringComparison.Ordinal).Replace("}", "", StringComparison.Ordinal)) || !TileUrl.Contains("{z}", StringComparison.Ordinal)))
        {
            yield return new ValidationResult("must be an http(s) URL template with {z}, {x} and {y}", [nameof(TileUrl)]);
        }

        if (Oidc.Enabled)
        {
            if (!IsHttpUrl(Oidc.Authority))
            {
                yield return new ValidationResult("must be the identity provider's http(s) URL (its /.well-known/openid-configuration lies below)", ["Oidc:Authority"]);
            }

            if (string.IsNullOrWhiteSpace(Oidc.ClientId))
            {
                yield return new ValidationResult("is required when Oidc:Enabled is true", ["Oidc:ClientId"]);
            }

            foreach (var problem in Oidc.Tenancy.Validate())
            {
                yield return problem;
            }
        }
    }

    internal static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>Where the accounts are: <see cref="UsersFile"/>, else beside the alert state file.</summary>
    public string ResolveUsersFile(string? alertStateFile) =>
        !string.IsNullOrWhiteSpace(UsersFile)
            ? UsersFile
            : Path.Combine(Path.GetDirectoryName(alertStateFile ?? "data/alerts.json") is { Length: > 0 } dir ? dir : ".", "console-users.json");
}

/// <summary>OpenID Connect sign-in (Keycloak, Entra ID): people log in at the city's identity provider.</summary>
public sealed class ConsoleOidcOptions
{
    /// <value>The default value is false: local accounts only.</value>
    public bool Enabled { get; set; }

    /// <summary>The provider's issuer URL, e.g. <c>https://sso.city.example/realms/city</c>.</summary>
    public string? Authority { get; set; }

    public string? ClientId { get; set; }

    /// <summary>Better from a secret file (<c>Console:Oidc:ClientSecretFile</c>) than inline.</summary>
    public string? ClientSecret { get; set; }

    /// <summary>The claim holding the person's roles.</summary>
    /// <value>The default value is <c>roles</c>.</value>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>The claim shown and recorded as the person's name.</summary>
    /// <value>The default value is <c>preferred_username</c>.</value>
    public string NameClaim { get; set; } = "preferred_username";

    /// <summary>Provider role values to console roles, e.g. <c>"city-operators": "operator"</c>; unmapped values are used as they are.</summary>
    public Dictionary<string, string> RoleMap { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Allows an http authority (a test provider on loopback); production providers use https.</summary>
    /// <value>The default value is true.</value>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>The city and districts a session may see, from its claims (see <see cref="OidcTenancyOptions"/>).</summary>
    public OidcTenancyOptions Tenancy { get; set; } = new();
}

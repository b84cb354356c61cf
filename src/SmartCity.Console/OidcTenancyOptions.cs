using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using SmartCity.Telemetry.Tenancy;

namespace SmartCity.OperatorConsole;

/// <summary>
/// Which city and districts an OpenID Connect session may see (issue 21, docs/console.md "City and
/// district scope from the provider"): the provider's claims become the same <see cref="CityScope"/>
/// claims a local account or an API key carries. One identity provider often serves a whole region, so
/// on a worker that serves a city (<c>Tenancy:City</c>) a session gets access only when a claim names
/// that city; a worker that serves no city (a single-city deployment) keeps the districts and ignores
/// the city, and a session without any scope claim sees the whole worker there, as before.
/// </summary>
public sealed class OidcTenancyOptions
{
    /// <summary>The claim naming the person's city (a partition map city id), e.g. <c>city</c>.</summary>
    /// <value>The default value is empty: no city claim is read (cities only from <see cref="Groups"/>).</value>
    public string? CityClaim { get; set; }

    /// <summary>The claim listing the person's districts within the city of <see cref="CityClaim"/> (several values, or one comma- or space-separated value).</summary>
    /// <value>The default value is empty: no districts claim is read.</value>
    public string? DistrictsClaim { get; set; }

    /// <summary>The claim holding the person's groups, looked up in <see cref="Groups"/>.</summary>
    /// <value>The default value is <c>groups</c>.</value>
    public string GroupClaim { get; set; } = "groups";

    /// <summary>A group value to the scope it grants, e.g. <c>"lyon-d01-operators": { "City": "lyon", "Districts": ["d01"] }</c>.</summary>
    /// <value>The default value is empty.</value>
    public Dictionary<string, OidcGroupScope> Groups { get; set; } = new(StringComparer.Ordinal);

    internal IEnumerable<ValidationResult> Validate()
    {
        foreach (var (key, value) in new[] { ("CityClaim", CityClaim), ("DistrictsClaim", DistrictsClaim) })
        {
            if (value is not null && string.IsNullOrWhiteSpace(value))
            {
                yield return new ValidationResult("must be a claim name or left out", ["Oidc:Tenancy:" + key]);
            }
        }

        if (string.IsNullOrWhiteSpace(GroupClaim))
        {
            yield return new ValidationResult("must be a claim name (default groups)", ["Oidc:Tenancy:GroupClaim"]);
        }

        foreach (var (group, scope) in Groups)
        {
            if (!CityScope.IsValidId(scope.City))
            {
                yield return new ValidationResult("must be a city id of the partition map (1..64 of A-Z a-z 0-9 _ . -)", [$"Oidc:Tenancy:Groups:{group}:City"]);
            }

            if (scope.Districts.FirstOrDefault(d => !CityScope.IsValidId(d)) is { } bad)
            {
                yield return new ValidationResult($"'{bad}' is not a district topic level (1..64 of A-Z a-z 0-9 _ . -)", [$"Oidc:Tenancy:Groups:{group}:Districts"]);
            }
        }
    }

    /// <summary>
    /// The <see cref="CityScope"/> claims of a session on a worker serving <paramref name="workerCity"/>,
    /// or null when the session may see nothing of it. Each scope the claims grant (the city claim with
    /// the districts claim, each mapped group) counts when its city is the worker's (any, on a worker of
    /// no city); the districts are their union, and one grant of a whole city wins over districts.
    /// </summary>
    public Claim[]? ScopeClaims(ClaimsPrincipal session, string? workerCity)
    {
        ArgumentNullException.ThrowIfNull(session);
        var grants = Grants(session).Where(g => workerCity is null || g.City == workerCity).ToList();
        if (grants.Count == 0)
        {
            return workerCity is null ? [] : null;
        }

        var districts = grants.Any(g => g.Districts.Count == 0)
            ? []
            : grants.SelectMany(g => g.Districts).Distinct(StringComparer.Ordinal).ToList();
        return CityScope.Claims(workerCity, districts);
    }

    private IEnumerable<(string? City, IReadOnlyList<string> Districts)> Grants(ClaimsPrincipal session)
    {
        var cities = CityClaim is null ? [] : Values(session, CityClaim);
        var districts = DistrictsClaim is null ? [] : Values(session, DistrictsClaim);
        foreach (var city in cities)
        {
            yield return (city, districts);
        }

        // Districts without a city claim: a single-city provider that only says districts.
        if (cities.Count == 0 && districts.Count > 0)
        {
            yield return (null, districts);
        }

        foreach (var group in Values(session, GroupClaim))
        {
            if (Groups.TryGetValue(group, out var scope))
            {
                yield return (scope.City, scope.Districts);
            }
        }
    }

    // Providers send a list either as several claims (a JSON array) or as one "a b" / "a,b" string.
    private static List<string> Values(ClaimsPrincipal session, string type) =>
        session.FindAll(type)
            .SelectMany(c => c.Value.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal)
            .ToList();
}

/// <summary>The scope one provider group grants: a city, and only some of its districts when listed.</summary>
public sealed class OidcGroupScope
{
    public string? City { get; set; }

    /// <value>The default value is empty: the whole city.</value>
    public List<string> Districts { get; set; } = [];
}

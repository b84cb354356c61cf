using SmartCity.Telemetry.Tenancy;

namespace SmartCity.Worker.Security;

/// <summary>
/// What one API key may see of this worker: its <see cref="CityScope"/> (the same scope as console
/// accounts'), from the key's city and districts. Out of scope is answered as if it did not exist.
/// </summary>
public static class ApiScope
{
    /// <summary>The scope of the request's key on this worker.</summary>
    public static CityScope Of(HttpContext context) =>
        CityScope.Of(context.User, context.RequestServices.GetRequiredService<IConfiguration>());

    // Districts narrow a city (ScopeProblems): a key without a city carries no scope at all.
    internal static System.Security.Claims.Claim[] Claims(ApiKeyOptions key) =>
        key.City is { Length: > 0 } ? CityScope.Claims(key.City, key.Districts) : [];
}

public sealed partial class ApiKeyOptions
{
    private IEnumerable<(string Member, string Message)> ScopeProblems()
    {
        if (City is not null && !CityScope.IsValidId(City))
        {
            yield return ("City", "must be a city id of 1..64 characters of [A-Za-z0-9_.-] (as Tenancy:City or the partition map), or left out for every city");
        }

        if (Districts.Count > 0 && City is null)
        {
            yield return ("Districts", "narrow a city: set City too");
        }

        for (var i = 0; i < Districts.Count; i++)
        {
            if (!CityScope.IsValidId(Districts[i]))
            {
                yield return ($"Districts:{i}", "must be a district topic level of 1..64 characters of [A-Za-z0-9_.-]");
            }
        }
    }
}

using System.ComponentModel.DataAnnotations;
using System.Security.Claims;
using SmartCity.OperatorConsole;
using SmartCity.Telemetry.Tenancy;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>The rule that turns a provider's claims into a session's city scope (OidcTenancyOptions), case by case.</summary>
public sealed class OidcTenancyOptionsTests
{
    private static readonly OidcTenancyOptions Options = new()
    {
        CityClaim = "city",
        DistrictsClaim = "districts",
        Groups =
        {
            ["lyon-d01"] = new OidcGroupScope { City = "lyon", Districts = ["d01"] },
            ["lyon-d02"] = new OidcGroupScope { City = "lyon", Districts = ["d02"] },
            ["lyon-all"] = new OidcGroupScope { City = "lyon" },
            ["paris-d07"] = new OidcGroupScope { City = "paris", Districts = ["d07"] },
        },
    };

    private static ClaimsPrincipal Session(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "oidc"));

    private static readonly string[] NoAccess = ["no access"];

    private static string[] Scope(ClaimsPrincipal session, string? workerCity) =>
        Options.ScopeClaims(session, workerCity)?.Select(c => $"{(c.Type == CityScope.CityClaim ? "city" : "district")}={c.Value}").Order(StringComparer.Ordinal).ToArray() ?? NoAccess;

    [Fact]
    public void ScopeClaims_CityWorker_OnlyGrantsOfThatCityCount()
    {
        Assert.Equal(NoAccess, Scope(Session(("roles", "admin")), "lyon"));
        Assert.Equal(NoAccess, Scope(Session(("city", "paris")), "lyon"));
        Assert.Equal(NoAccess, Scope(Session(("groups", "paris-d07")), "lyon"));
        // Districts without a city do not name this worker's city.
        Assert.Equal(NoAccess, Scope(Session(("districts", "d01")), "lyon"));
        Assert.Equal(["city=lyon"], Scope(Session(("city", "lyon")), "lyon"));
        Assert.Equal(["city=lyon", "district=d01", "district=d03"], Scope(Session(("city", "lyon"), ("districts", "d01, d03")), "lyon"));
        Assert.Equal(["city=lyon", "district=d01", "district=d02"], Scope(Session(("groups", "lyon-d01"), ("groups", "lyon-d02"), ("groups", "paris-d07")), "lyon"));
        // A grant of the whole city wins over a grant of districts.
        Assert.Equal(["city=lyon"], Scope(Session(("groups", "lyon-d01"), ("groups", "lyon-all")), "lyon"));
        Assert.Equal(["city=paris", "district=d07"], Scope(Session(("groups", "lyon-d01"), ("groups", "paris-d07")), "paris"));
    }

    [Fact]
    public void ScopeClaims_WorkerOfNoCity_DistrictsKeptNothingMeansEverything()
    {
        Assert.Equal([], Scope(Session(("roles", "admin")), null));
        Assert.Equal(["district=d01"], Scope(Session(("districts", "d01")), null));
        Assert.Equal(["district=d01", "district=d07"], Scope(Session(("groups", "lyon-d01"), ("groups", "paris-d07")), null));
    }

    [Fact]
    public void Validate_BadClaimNamesOrGroupScopes_EachNamed()
    {
        var options = new ConsoleOptions
        {
            Oidc =
            {
                Enabled = true,
                Authority = "https://sso.city.example/realms/city",
                ClientId = "console",
                Tenancy =
                {
                    CityClaim = " ",
                    GroupClaim = "",
                    Groups = { ["g1"] = new OidcGroupScope { City = "lyon/x" }, ["g2"] = new OidcGroupScope { City = "lyon", Districts = ["d01", "d 2"] } },
                },
            },
        };
        var members = options.Validate(new ValidationContext(options)).SelectMany(r => r.MemberNames).ToList();
        Assert.Equal(["Oidc:Tenancy:CityClaim", "Oidc:Tenancy:GroupClaim", "Oidc:Tenancy:Groups:g1:City", "Oidc:Tenancy:Groups:g2:Districts"], members);
        Assert.Empty(new ConsoleOptions { Oidc = { Enabled = true, Authority = "https://sso.example", ClientId = "c", Tenancy = Options } }.Validate(new ValidationContext(new object())));
    }
}

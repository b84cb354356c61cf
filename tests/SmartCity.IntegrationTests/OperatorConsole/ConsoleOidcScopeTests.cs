using System.Net;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// Issue 21, OpenID Connect sessions scoped like console accounts: the whole sign-in runs against a
/// stand-in provider (discovery, JWKS, authorization and token endpoints, RS256 id_token) and the real
/// worker of city "lyon". The provider's city/districts claims, or a group mapped to a scope, decide what
/// the session sees; another district's alert is a page that does not exist (404), and on a city's worker
/// a session whose claims do not name that city gets no access at all.
/// </summary>
public sealed class ConsoleOidcScopeTests
{
    private const string City = "lyon";
    private static readonly string[] Viewer = ["viewer"];
    private static readonly string[] Admin = ["admin"];

    [Fact]
    public async Task OidcSession_DistrictClaimOrMappedGroup_SeesOnlyItsDistrictsAlerts()
    {
        var mine = TestServers.UniqueName("d");
        var theirs = TestServers.UniqueName("d");
        await using var provider = await OidcStandInProvider.StartAsync();
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: provider.Settings(new Dictionary<string, string?>
        {
            ["Tenancy:City"] = City,
            ["Console:Oidc:Tenancy:CityClaim"] = "city",
            ["Console:Oidc:Tenancy:DistrictsClaim"] = "districts",
            [$"Console:Oidc:Tenancy:Groups:lyon-night-shift:City"] = City,
            [$"Console:Oidc:Tenancy:Groups:lyon-night-shift:Districts:0"] = mine,
        }));
        var myAlert = await ApiTestKit.RaiseDoorForcedAsync(worker, mine, "door-" + mine);
        var theirAlert = await ApiTestKit.RaiseDoorForcedAsync(worker, theirs, "door-" + theirs);

        var byClaims = new Dictionary<string, object> { ["sub"] = "u-1", ["preferred_username"] = "dana", ["roles"] = new[] { "operator" }, ["city"] = City, ["districts"] = new[] { mine } };
        var byGroup = new Dictionary<string, object> { ["sub"] = "u-2", ["preferred_username"] = "nina", ["roles"] = Viewer, ["groups"] = new[] { "staff", "lyon-night-shift" } };
        foreach (var user in new[] { byClaims, byGroup })
        {
            using var session = await provider.SignInAsync(worker.BaseAddress, user);
            var list = await session.GetStringAsync(new Uri("/console/alerts", UriKind.Relative));
            Assert.Contains(myAlert, list, StringComparison.Ordinal);
            Assert.DoesNotContain(theirAlert, list, StringComparison.Ordinal);
            Assert.DoesNotContain(theirs, list, StringComparison.Ordinal);
            using var own = await session.GetAsync(new Uri($"/console/alerts/{myAlert}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            using var other = await session.GetAsync(new Uri($"/console/alerts/{theirAlert}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
        }
    }

    [Fact]
    public async Task OidcSession_OnCityWorker_WithoutThatCityNoAccessWithItTheWholeCity()
    {
        var one = TestServers.UniqueName("d");
        var two = TestServers.UniqueName("d");
        await using var provider = await OidcStandInProvider.StartAsync();
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: provider.Settings(new Dictionary<string, string?>
        {
            ["Tenancy:City"] = City,
            ["Console:Oidc:Tenancy:CityClaim"] = "city",
        }));
        var first = await ApiTestKit.RaiseDoorForcedAsync(worker, one, "door-" + one);
        var second = await ApiTestKit.RaiseDoorForcedAsync(worker, two, "door-" + two);

        // The region's provider knows people of every city: no city claim, or another city's, is no access here.
        foreach (var city in new string?[] { null, "paris" })
        {
            var user = new Dictionary<string, object> { ["sub"] = "u-" + city, ["preferred_username"] = "someone", ["roles"] = Admin };
            if (city is not null)
            {
                user["city"] = city;
            }

            using var session = await provider.SignInAsync(worker.BaseAddress, user);
            using var list = await session.GetAsync(new Uri("/console/alerts", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Forbidden, list.StatusCode);
            using var page = await session.GetAsync(new Uri($"/console/alerts/{first}", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Forbidden, page.StatusCode);
        }

        // The city's own person, without districts: the whole city.
        using var whole = await provider.SignInAsync(worker.BaseAddress, new Dictionary<string, object> { ["sub"] = "u-3", ["preferred_username"] = "olga", ["roles"] = Viewer, ["city"] = City });
        var all = await whole.GetStringAsync(new Uri("/console/alerts", UriKind.Relative));
        Assert.Contains(first, all, StringComparison.Ordinal);
        Assert.Contains(second, all, StringComparison.Ordinal);
    }
}

using System.Net;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// OpenID Connect by configuration: the console's city-account button sends the browser to the
/// provider's authorization endpoint, found in its discovery document (served here by a stand-in
/// provider on 127.0.0.1). The rest of the flow (code exchange, signed id_token, scope claims):
/// ConsoleOidcScopeTests.
/// </summary>
public sealed class ConsoleOidcTests
{
    [Fact]
    public async Task OidcLogin_Enabled_ChallengeRedirectsToProviderAuthorizationEndpoint()
    {
        await using var provider = await OidcStandInProvider.StartAsync();
        var authority = provider.Authority;
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: provider.Settings());
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        var login = await http.GetStringAsync(new Uri("/console/login", UriKind.Relative));
        Assert.Contains("href=\"/console/login/oidc\"", login, StringComparison.Ordinal);

        using var challenge = await http.GetAsync(new Uri("/console/login/oidc", UriKind.Relative));
        Assert.True(HttpStatusCode.Redirect == challenge.StatusCode, $"{challenge.StatusCode}: {string.Join(Environment.NewLine, worker.Logs.AtLeast(LogLevel.Error))}");
        var target = challenge.Headers.Location!;
        Assert.Equal(authority.TrimEnd('/') + "/authorize", target.GetLeftPart(UriPartial.Path));
        var query = System.Web.HttpUtility.ParseQueryString(target.Query);
        Assert.Equal("smartcity-console", query["client_id"]);
        Assert.Equal("code", query["response_type"]);
        Assert.Equal(worker.BaseAddress.ToString().TrimEnd('/') + "/console/signin-oidc", query["redirect_uri"]);
        Assert.Equal("S256", query["code_challenge_method"]);
        Assert.Contains("openid", query["scope"]!.Split(' '));
        Assert.False(string.IsNullOrEmpty(query["state"]));
    }

    [Fact]
    public async Task OidcLogin_Disabled_NoButtonAndNoEndpoint()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false }) { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        var login = await http.GetStringAsync(new Uri("/console/login", UriKind.Relative));
        Assert.DoesNotContain("/console/login/oidc", login, StringComparison.Ordinal);
        using var challenge = await http.GetAsync(new Uri("/console/login/oidc", UriKind.Relative));
        Assert.NotEqual(HttpStatusCode.Redirect, challenge.StatusCode);
    }
}

using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// OpenID Connect by configuration: the console's city-account button sends the browser to the
/// provider's authorization endpoint, found in its discovery document (served here by a stand-in
/// provider on 127.0.0.1). What happens after the provider (code exchange, token validation, role
/// mapping) needs a real provider's signed tokens and is not tested here.
/// </summary>
public sealed class ConsoleOidcTests
{
    [Fact]
    public async Task OidcLogin_Enabled_ChallengeRedirectsToProviderAuthorizationEndpoint()
    {
        await using var provider = await StandInProviderAsync();
        var authority = provider.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Console:Oidc:Enabled"] = "true",
            ["Console:Oidc:Authority"] = authority,
            ["Console:Oidc:ClientId"] = "smartcity-console",
            ["Console:Oidc:ClientSecret"] = "stand-in-secret-0123456789",
            ["Console:Oidc:RequireHttpsMetadata"] = "false",
        });
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

    /// <summary>An identity provider's discovery document and (empty) key set, nothing more.</summary>
    private static async Task<WebApplication> StandInProviderAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", (HttpContext context) =>
        {
            var issuer = $"{context.Request.Scheme}://{context.Request.Host}";
            return Results.Text($$"""
                {"issuer":"{{issuer}}","authorization_endpoint":"{{issuer}}/authorize","token_endpoint":"{{issuer}}/token",
                 "jwks_uri":"{{issuer}}/jwks","response_types_supported":["code"],"subject_types_supported":["public"],
                 "id_token_signing_alg_values_supported":["RS256"],"code_challenge_methods_supported":["S256"]}
                """, "application/json");
        });
        app.MapGet("/jwks", () => Results.Text("""{"keys":[]}""", "application/json"));
        await app.StartAsync();
        return app;
    }
}

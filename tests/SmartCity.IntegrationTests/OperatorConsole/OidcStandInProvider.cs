using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// An OpenID Connect provider on 127.0.0.1, small but real: discovery document, JWKS with an RSA key,
/// an authorization endpoint that logs in whoever the test names (answering as the request's
/// response_mode asks: form_post by default) and a token endpoint that checks the client secret and
/// PKCE and returns an RS256-signed id_token with the request's nonce. The console validates all of it
/// as it would a real provider's answer.
/// </summary>
public sealed partial class OidcStandInProvider : IAsyncDisposable
{
    public const string ClientId = "smartcity-console";
    public const string ClientSecret = "stand-in-secret-0123456789";

    private readonly WebApplication _app;
    private readonly RSA _rsa = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, (Dictionary<string, object> User, string Nonce, string Challenge, string RedirectUri)> _codes = new();

    // The person who logs in at the next authorization request: a browser's login form, in short.
    private readonly ConcurrentQueue<Dictionary<string, object>> _nextUsers = new();

    private OidcStandInProvider(WebApplication app) => _app = app;

    public string Authority => _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    /// <summary>Token requests that were refused (wrong secret, PKCE, code), for a failing test to show.</summary>
    public ConcurrentQueue<string> Refusals { get; } = new();

    /// <summary>The console settings that use this provider; <paramref name="more"/> adds or wins.</summary>
    public Dictionary<string, string?> Settings(IDictionary<string, string?>? more = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Console:Oidc:Enabled"] = "true",
            ["Console:Oidc:Authority"] = Authority,
            ["Console:Oidc:ClientId"] = ClientId,
            ["Console:Oidc:ClientSecret"] = ClientSecret,
            ["Console:Oidc:RequireHttpsMetadata"] = "false",
        };
        foreach (var (k, v) in more ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }

        return settings;
    }

    public static async Task<OidcStandInProvider> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var provider = new OidcStandInProvider(app);
        app.MapGet("/.well-known/openid-configuration", (HttpContext context) =>
        {
            var issuer = Issuer(context);
            return Results.Text($$"""
                {"issuer":"{{issuer}}","authorization_endpoint":"{{issuer}}/authorize","token_endpoint":"{{issuer}}/token",
                 "jwks_uri":"{{issuer}}/jwks","response_types_supported":["code"],"subject_types_supported":["public"],
                 "id_token_signing_alg_values_supported":["RS256"],"code_challenge_methods_supported":["S256"]}
                """, "application/json");
        });
        app.MapGet("/jwks", provider.Jwks);
        app.MapGet("/authorize", provider.Authorize);
        app.MapPost("/token", (Func<HttpContext, Task<IResult>>)provider.TokenAsync);
        await app.StartAsync();
        return provider;
    }

    /// <summary>
    /// Logs <paramref name="user"/>'s claims in through the console's button, as a browser does: the
    /// challenge, the provider's auto-posted form, the callback, following each redirect and carrying
    /// the worker's cookies by hand (the correlation and nonce cookies are Secure, which .NET's cookie
    /// container does not send over http). Returns a client with the session cookie.
    /// </summary>
    public async Task<HttpClient> SignInAsync(Uri worker, Dictionary<string, object> user)
    {
        _nextUsers.Enqueue(user);
        var cookies = new Dictionary<string, string>(StringComparer.Ordinal);
        using var http = Client();
        using var challenge = await SendAsync(http, HttpMethod.Get, new Uri(worker, "/console/login/oidc"), cookies, null);
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        using var login = await http.GetAsync(challenge.Headers.Location);
        var page = await login.Content.ReadAsStringAsync();
        Assert.True(login.IsSuccessStatusCode, page);
        var action = FormAction().Match(page).Groups[1].Value;
        var fields = HiddenInput().Matches(page).ToDictionary(m => m.Groups[1].Value, m => WebUtility.HtmlDecode(m.Groups[2].Value));
        using var callback = await SendAsync(http, HttpMethod.Post, new Uri(WebUtility.HtmlDecode(action)), cookies, new FormUrlEncodedContent(fields));
        Assert.True(callback.StatusCode == HttpStatusCode.Redirect, $"{callback.StatusCode} {await callback.Content.ReadAsStringAsync()} refusals: {string.Join("; ", Refusals)}");
        Assert.Equal("/console/alerts", callback.Headers.Location!.OriginalString);
        var session = Client();
        session.BaseAddress = worker;
        session.DefaultRequestHeaders.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
        return session;
    }

    /// <summary>A client that shows each redirect and sends only the cookies it is given.</summary>
    private static HttpClient Client() =>
        new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(120) };

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        _rsa.Dispose();
    }

    private static string Issuer(HttpContext context) => $"{context.Request.Scheme}://{context.Request.Host}";

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, Uri uri, Dictionary<string, string> cookies, HttpContent? content)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        if (cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        var response = await http.SendAsync(request);
        foreach (var header in response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [])
        {
            var pair = header.Split(';')[0].Split('=', 2);
            // A cookie deleted by the worker (the correlation cookie after the callback) comes back empty.
            if (pair[1].Length == 0)
            {
                cookies.Remove(pair[0]);
            }
            else
            {
                cookies[pair[0]] = pair[1];
            }
        }

        return response;
    }

    private IResult Jwks()
    {
        var key = _rsa.ExportParameters(false);
        return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = "stand-in-1", n = Base64UrlEncoder.Encode(key.Modulus), e = Base64UrlEncoder.Encode(key.Exponent) } } });
    }

    private IResult Authorize(HttpContext context)
    {
        var q = context.Request.Query;
        if (q["client_id"] != ClientId || q["response_type"] != "code" || q["code_challenge_method"] != "S256" || !_nextUsers.TryDequeue(out var user))
        {
            return Results.BadRequest("invalid authorization request");
        }

        var code = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        _codes[code] = (user, q["nonce"].ToString(), q["code_challenge"].ToString(), q["redirect_uri"].ToString());
        var redirect = q["redirect_uri"].ToString();
        if (q["response_mode"] == "query")
        {
            return Results.Redirect(QueryHelpers.AddQueryString(redirect, new Dictionary<string, string?> { ["code"] = code, ["state"] = q["state"] }));
        }

        // form_post (the console's default): the page a real provider sends, posted by the browser.
        return Results.Content($"""
            <html><body onload="document.forms[0].submit()"><form method="post" action="{WebUtility.HtmlEncode(redirect)}">
            <input type="hidden" name="code" value="{code}"/><input type="hidden" name="state" value="{WebUtility.HtmlEncode(q["state"])}"/>
            </form></body></html>
            """, "text/html");
    }

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (form["client_id"] != ClientId || form["client_secret"] != ClientSecret)
        {
            return Refuse("client authentication");
        }

        if (!_codes.TryRemove(form["code"].ToString(), out var grant) || form["redirect_uri"] != grant.RedirectUri)
        {
            return Refuse("unknown code or redirect_uri");
        }

        var verifier = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString())));
        if (verifier != grant.Challenge)
        {
            return Refuse("PKCE code_verifier");
        }

        var accessToken = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        var claims = new Dictionary<string, object>(grant.User)
        {
            ["nonce"] = grant.Nonce,
            ["at_hash"] = Base64UrlEncoder.Encode(SHA256.HashData(Encoding.ASCII.GetBytes(accessToken))[..16]),
        };
        var now = DateTime.UtcNow;
        var idToken = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = Issuer(context),
            Audience = ClientId,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now.AddMinutes(10),
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(_rsa) { KeyId = "stand-in-1" }, SecurityAlgorithms.RsaSha256),
        });
        return Results.Text(JsonSerializer.Serialize(new { access_token = accessToken, token_type = "Bearer", expires_in = 600, id_token = idToken }), "application/json");
    }

    private IResult Refuse(string why)
    {
        Refusals.Enqueue(why);
        return Results.Json(new { error = "invalid_grant", error_description = why }, statusCode: StatusCodes.Status400BadRequest);
    }

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+)\"")]
    private static partial Regex FormAction();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex HiddenInput();
}

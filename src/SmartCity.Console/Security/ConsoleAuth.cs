using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Partitioning;
using SmartCity.Telemetry.Tenancy;

namespace SmartCity.OperatorConsole.Security;

/// <summary>
/// People log in as people: a cookie session made by the login page (local accounts) or by the city's
/// identity provider (OpenID Connect). The operator API's default scheme (API keys) is left as it is:
/// only the console's pages and endpoints ask for these schemes.
/// </summary>
public static class ConsoleAuth
{
    public const string CookieScheme = "SmartCityConsole";
    public const string OidcScheme = "SmartCityConsoleOidc";
    public const string ViewerPolicy = "console-viewer";
    public const string OperatorPolicy = "console-operator";

    /// <summary>
    /// Anyone, but read the console's session first: a form that anonymous people may post (the language
    /// switch) still checks its CSRF token against the person who is logged in, as the page that made it did.
    /// </summary>
    public const string AnyonePolicy = "console-anyone";
    public const string BasePath = "/console";

    internal static void Add(IServiceCollection services)
    {
        // Settings are read when first used, not here: the worker's composition root adds configuration
        // sources (tests' settings, secret files) after the services are registered.
        services.AddOptions<CookieAuthenticationOptions>(CookieScheme)
            .Configure<IOptions<ConsoleOptions>>((o, console) => o.ExpireTimeSpan = console.Value.SessionLifetime);
        services.AddOptions<OpenIdConnectOptions>(OidcScheme)
            .Configure<IOptions<ConsoleOptions>>((o, console) => ConfigureOidc(o, console.Value.Oidc));
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<OpenIdConnectOptions>, OpenIdConnectPostConfigureOptions>());
        services.TryAddTransient<OpenIdConnectHandler>();
        services.AddAuthentication().AddCookie(CookieScheme, o =>
        {
            o.Cookie.Name = "smartcity-console";
            o.Cookie.Path = BasePath;
            o.Cookie.HttpOnly = true;
            o.Cookie.SameSite = SameSiteMode.Strict;
            // Secure whenever the page is served over https (behind a TLS proxy that says so).
            o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
            o.SlidingExpiration = true;
            o.LoginPath = BasePath + "/login";
            o.Events.OnRedirectToLogin = context =>
            {
                // A page navigation goes to the login page; a script (event stream, fetch) or a form post gets 401.
                if (HttpMethods.IsGet(context.Request.Method) && !context.Request.Path.StartsWithSegments(BasePath + "/events"))
                {
                    context.Response.Redirect(context.RedirectUri);
                }
                else
                {
                    context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                }

                return Task.CompletedTask;
            };
            // A viewer who forges an operator's POST is refused with 403, not sent to a page.
            o.Events.OnRedirectToAccessDenied = context =>
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return Task.CompletedTask;
            };
        });

        services.AddAuthorization(o =>
        {
            o.AddPolicy(ViewerPolicy, p => p.AddAuthenticationSchemes(CookieScheme).RequireAuthenticatedUser().RequireRole(ConsoleRoles.AtLeast(ConsoleRoles.Viewer)));
            o.AddPolicy(AnyonePolicy, p => p.AddAuthenticationSchemes(CookieScheme).RequireAssertion(_ => true));
            o.AddPolicy(OperatorPolicy, p => p.AddAuthenticationSchemes(CookieScheme).RequireAuthenticatedUser().RequireRole(ConsoleRoles.AtLeast(ConsoleRoles.Operator)));
        });
    }

    /// <summary>The session of a local account, with its city and districts (<see cref="CityScope"/>) when it has them.</summary>
    public static ClaimsPrincipal Principal(string name, string role, string method, string? city = null, IEnumerable<string>? districts = null) => new(new ClaimsIdentity(
        [new Claim(ClaimTypes.Name, name), new Claim(ClaimTypes.Role, role), new Claim("amr", method), .. CityScope.Claims(city, districts ?? [])],
        CookieScheme, ClaimTypes.Name, ClaimTypes.Role));

    /// <summary>What the session may see of this worker: out of scope is answered as if it did not exist.</summary>
    public static CityScope Scope(HttpContext context) =>
        CityScope.Of(context.User, context.RequestServices.GetRequiredService<IConfiguration>());

    private static void ConfigureOidc(OpenIdConnectOptions o, ConsoleOidcOptions oidc)
    {
        o.SignInScheme = CookieScheme;
        o.Authority = oidc.Authority;
        o.ClientId = oidc.ClientId;
        o.ClientSecret = oidc.ClientSecret;
        o.ResponseType = "code";
        o.UsePkce = true;
        o.CallbackPath = BasePath + "/signin-oidc";
        o.SignedOutCallbackPath = BasePath + "/signout-callback-oidc";
        o.RequireHttpsMetadata = oidc.RequireHttpsMetadata;
        o.MapInboundClaims = false;
        o.Scope.Clear();
        o.Scope.Add("openid");
        o.Scope.Add("profile");
        o.Events.OnTokenValidated = context =>
        {
            // The provider's claims become the console's two: the name recorded on acknowledgements and a role.
            var source = context.Principal!;
            var name = source.FindFirst(oidc.NameClaim)?.Value ?? source.FindFirst("sub")?.Value ?? "unknown";
            var roles = source.FindAll(oidc.RoleClaim)
                .Select(c => oidc.RoleMap.TryGetValue(c.Value, out var mapped) ? mapped : c.Value)
                .Where(ConsoleRoles.IsRole)
                .ToList();
            // The strongest role the provider grants; none means no access (authorization refuses the session).
            var role = ConsoleRoles.All.LastOrDefault(roles.Contains);
            var claims = new List<Claim> { new(ClaimTypes.Name, name), new("amr", "oidc") };
            // A session whose claims grant nothing of this worker's city gets no role: no access (OidcTenancyOptions).
            var scope = oidc.Tenancy.ScopeClaims(source, context.HttpContext.RequestServices.GetRequiredService<IConfiguration>()[PartitionServiceCollectionExtensions.CityKey]);
            if (role is not null && scope is not null)
            {
                claims.Add(new Claim(ClaimTypes.Role, role));
                claims.AddRange(scope);
            }

            context.Principal = new ClaimsPrincipal(new ClaimsIdentity(claims, CookieScheme, ClaimTypes.Name, ClaimTypes.Role));
            return Task.CompletedTask;
        };
    }

    /// <summary>
    /// The OpenID Connect scheme, added once the configuration is final and only when enabled: a
    /// registered OIDC handler sees every request (its callback path) and would refuse to start without
    /// an authority and a client id.
    /// </summary>
    internal static void AddOidcSchemeWhenEnabled(IServiceProvider services, ConsoleOptions options)
    {
        if (options.Oidc.Enabled)
        {
            services.GetRequiredService<IAuthenticationSchemeProvider>().AddScheme(new AuthenticationScheme(OidcScheme, "OpenID Connect", typeof(OpenIdConnectHandler)));
        }
    }

    internal static Task ChallengeOidcAsync(HttpContext context) =>
        context.ChallengeAsync(OidcScheme, new AuthenticationProperties { RedirectUri = BasePath + "/alerts" });
}

using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Worker.Security;

/// <summary>Authentication, roles, rate limits (ApiSecurity.RateLimiting.cs) and CORS of the operator API, in one place.</summary>
public static partial class ApiSecurity
{
    /// <summary>The rate-limiting policy on everything under /api and on the OpenAPI document.</summary>
    public const string RateLimitPolicy = "per-identity";

    public const string CorsPolicy = "operator-api";

    public static IServiceCollection AddOperatorApiSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        AddApiOptions(services, configuration);
        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<ApiAccessReport>();
        services.AddProblemDetails();
        AddRolesAndKeys(services);
        AddApiRateLimiting(services);

        // The policy reads the origins when first used (after every configuration source is in);
        // the middleware is only added when origins are listed (UseOperatorApiSecurity).
        services.AddCors(o => o.AddPolicy(CorsPolicy, p => p
            .WithOrigins(AllowedOrigins(configuration))
            .WithMethods("GET", "POST")
            .WithHeaders("Authorization", ApiKeyAuthenticationHandler.HeaderName, "Content-Type")
            .WithExposedHeaders("Retry-After", "WWW-Authenticate")));

        return services;
    }

    /// <summary>Api:* bound and validated, its failures reported by the start-up configuration check.</summary>
    private static void AddApiOptions(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ApiOptions>().Bind(configuration.GetSection(ApiOptions.SectionName));
        services.AddSingleton<IValidateOptions<ApiOptions>>(new SectionValidator<ApiOptions>(ApiOptions.SectionName));
        services.AddSingleton(new ConfigurationCheck(sp =>
        {
            try
            {
                _ = sp.GetRequiredService<IOptions<ApiOptions>>().Value;
                return [];
            }
            catch (OptionsValidationException ex)
            {
                return ex.Failures;
            }
            catch (InvalidOperationException ex) when (ex.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal))
            {
                // Names the key and the value; no setting of this section that can fail conversion is a secret.
                return [ex.Message];
            }
        }));
    }

    /// <summary>Who you are (an API key) and what you may do (a policy per role, viewer by default).</summary>
    private static void AddRolesAndKeys(IServiceCollection services)
    {
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorization(o =>
        {
            foreach (var role in ApiRoles.All)
            {
                o.AddPolicy(role, p => p.RequireAuthenticatedUser().RequireRole(ApiRoles.AtLeast(role)));
            }

            // An endpoint that says nothing needs a viewer: a new endpoint is never open by mistake.
            o.FallbackPolicy = o.GetPolicy(ApiRoles.Viewer);
        });
    }

    /// <summary>CORS first (a preflight carries no key), then who you are, then how often, then what you may do.</summary>
    public static WebApplication UseOperatorApiSecurity(this WebApplication app)
    {
        if (AllowedOrigins(app.Configuration) is { Length: > 0 })
        {
            app.UseCors(CorsPolicy);
        }

        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    // Read at build time: CORS middleware is either in the pipeline or not at all (no headers by default).
    private static string[] AllowedOrigins(IConfiguration configuration) =>
        [.. (configuration.GetSection($"{ApiOptions.SectionName}:Cors:AllowedOrigins").Get<string[]>() ?? [])
            .Where(ApiCorsOptions.IsOrigin).Select(o => o.TrimEnd('/'))];

    /// <summary>Says at start who may use the API (names and roles only), or that nobody can.</summary>
    private sealed partial class ApiAccessReport(ApiKeyStore keys, ILogger<ApiAccessReport> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (keys.Count == 0)
            {
                LogNoKeys();
            }
            else
            {
                var identities = string.Join(", ", keys.Identities.Select(k => $"{k.Name} ({k.Role})"));
                LogKeys(keys.Count, identities);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "No API keys are configured (Api:Keys): every /api call will be answered 401. See docs/operator-api.md")]
        private partial void LogNoKeys();

        [LoggerMessage(EventId = 7002, Level = LogLevel.Information, Message = "Operator API: {Count} API keys: {Identities}")]
        private partial void LogKeys(int count, string identities);
    }
}

using System.Diagnostics;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.OperatorConsole.Live;
using SmartCity.OperatorConsole.Readings;
using SmartCity.OperatorConsole.Security;
using SmartCity.OperatorConsole.Text;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.OperatorConsole.Hosting;

/// <summary>
/// The console's own services and middleware (MVC, Razor Pages, cookie and OIDC authentication, antiforgery),
/// built on its first request in a container of their own: registering them in the worker's container mapped and
/// compiled that whole stack in every worker at start, about 20 MB of an idle worker's RSS (docs/performance.md).
/// The worker's singletons the console shows or changes are the same instances, taken from the worker's container.
/// </summary>
internal sealed class ConsolePipeline : IAsyncDisposable
{
    /// <summary>The worker's services the console's pages and endpoints use: one instance each, the worker's.</summary>
    private static readonly Type[] Shared =
    [
        typeof(IConfiguration), typeof(IWebHostEnvironment), typeof(IHostEnvironment), typeof(ILoggerFactory),
        typeof(DiagnosticListener), typeof(DiagnosticSource), typeof(TimeProvider), typeof(IDataProtectionProvider),
        typeof(IOptions<ConsoleOptions>), typeof(IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>),
        typeof(AccountStore), typeof(AlertFeed), typeof(DeviceReadings),
        typeof(AlertingService), typeof(DeviceRegistry), typeof(DeadLetters), typeof(LightingService),
    ];

    private readonly ServiceProvider _services;
    private readonly RequestDelegate _app;

    private ConsolePipeline(IServiceProvider worker)
    {
        var services = new ServiceCollection();
        var isService = worker.GetRequiredService<IServiceProviderIsService>();
        foreach (var type in Shared.Where(isService.IsService))
        {
            // Before AddLogging, AddDataProtection...: their TryAdd keeps the worker's instance.
            services.AddSingleton(type, _ => worker.GetRequiredService(type));
        }

        AddServices(services);
        _services = services.BuildServiceProvider();
        var options = _services.GetRequiredService<IOptions<ConsoleOptions>>().Value;
        ConsoleAuth.AddOidcSchemeWhenEnabled(_services, options);
        _app = BuildPipeline(new ApplicationBuilder(_services), worker, options);
    }

    public static ConsolePipeline Build(IServiceProvider worker) => new(worker);

    /// <summary>Serves one request of the worker's: the worker's routing, authentication and limits have run.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var workerServices = context.RequestServices;
        var scope = _services.CreateAsyncScope();
        await using (scope.ConfigureAwait(false))
        {
            context.Features.Set(new WorkerRequestServices(workerServices));
            context.RequestServices = scope.ServiceProvider;
            // The worker matched its catch-all; the console's own routing matches the console's endpoint.
            context.SetEndpoint(null);
            context.Request.RouteValues = [];
            try
            {
                await _app(context).ConfigureAwait(false);
            }
            finally
            {
                context.RequestServices = workerServices;
            }
        }
    }

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static void AddServices(IServiceCollection services)
    {
        services.AddLogging();
        services.AddOptions();
        services.AddRouting();
        services.AddHttpContextAccessor();
        services.AddScoped<ConsoleText>();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "smartcity-console-csrf";
            o.Cookie.Path = ConsoleAuth.BasePath;
            o.Cookie.SameSite = SameSiteMode.Strict;
        });
        ConsoleAuth.Add(services);

        var assembly = typeof(ConsoleHosting).Assembly;
        services.AddRazorPages(o =>
        {
            o.Conventions.AuthorizeFolder("/", ConsoleAuth.ViewerPolicy);
            o.Conventions.AllowAnonymousToPage("/Login");
        }).ConfigureApplicationPartManager(parts =>
        {
            // Found already when the worker is the entry assembly; added here when it is not (a test host).
            if (!parts.ApplicationParts.Any(p => p is AssemblyPart a && a.Assembly == assembly))
            {
                foreach (var part in ApplicationPartFactory.GetApplicationPartFactory(assembly).GetApplicationParts(assembly))
                {
                    parts.ApplicationParts.Add(part);
                }
            }
        });
    }

    /// <summary>
    /// The order the console's requests had in the worker's pipeline: routing, authentication (the OIDC callback),
    /// authorization, the security headers, antiforgery, the endpoint.
    /// </summary>
    private static RequestDelegate BuildPipeline(ApplicationBuilder app, IServiceProvider worker, ConsoleOptions options)
    {
        app.UseRouting();
        app.Use(HandleRemoteAuthenticationAsync);
        app.UseAuthorization();
        app.Use((context, next) => UnknownPathAsync(context, next, worker));
        var headers = SecureHeaders.For(options);
        app.Use((context, next) =>
        {
            context.Response.OnStarting(() =>
            {
                headers.Apply(context.Response);
                return Task.CompletedTask;
            });
            return next(context);
        });
        app.UseAntiforgery();
        app.UseEndpoints(endpoints =>
        {
            endpoints.MapRazorPages();
            ConsoleEndpoints.Map(endpoints, options);
            Lighting.LightingConsoleEndpoints.Map(endpoints);
        });
        return app.Build();
    }

    /// <summary>
    /// The part of the authentication middleware the worker's own one did for the console's schemes: a remote
    /// scheme's callback (OIDC's /console/signin-oidc). Who the request is was decided by the worker's default
    /// scheme already; the console's policies read the console's session themselves (as before).
    /// </summary>
    private static async Task HandleRemoteAuthenticationAsync(HttpContext context, RequestDelegate next)
    {
        var handlers = context.RequestServices.GetRequiredService<IAuthenticationHandlerProvider>();
        foreach (var scheme in await context.RequestServices.GetRequiredService<IAuthenticationSchemeProvider>().GetRequestHandlerSchemesAsync().ConfigureAwait(false))
        {
            if (await handlers.GetHandlerAsync(context, scheme.Name).ConfigureAwait(false) is IAuthenticationRequestHandler handler
                && await handler.HandleRequestAsync().ConfigureAwait(false))
            {
                return;
            }
        }

        await next(context).ConfigureAwait(false);
    }

    /// <summary>
    /// A path under /console that is none of the console's: the worker's fallback policy (an API key of a viewer)
    /// decides, as when these paths were routed by the worker itself, then 404.
    /// </summary>
    private static async Task UnknownPathAsync(HttpContext context, RequestDelegate next, IServiceProvider worker)
    {
        if (context.GetEndpoint() is not null || await worker.GetRequiredService<IAuthorizationPolicyProvider>().GetFallbackPolicyAsync().ConfigureAwait(false) is not { } policy)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        var consoleServices = context.RequestServices;
        context.RequestServices = context.Features.GetRequiredFeature<WorkerRequestServices>().Services;
        try
        {
            var evaluator = context.RequestServices.GetRequiredService<IPolicyEvaluator>();
            var authenticated = await evaluator.AuthenticateAsync(policy, context).ConfigureAwait(false);
            var authorized = await evaluator.AuthorizeAsync(policy, authenticated, context, resource: null).ConfigureAwait(false);
            await context.RequestServices.GetRequiredService<IAuthorizationMiddlewareResultHandler>().HandleAsync(
                c =>
                {
                    c.RequestServices = consoleServices;
                    return next(c);
                },
                context,
                policy,
                authorized).ConfigureAwait(false);
        }
        finally
        {
            context.RequestServices = consoleServices;
        }
    }

    /// <summary>The request's scope of the worker's container, while the console's scope serves it.</summary>
    private sealed record WorkerRequestServices(IServiceProvider Services);
}

using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Mvc.ApplicationParts;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.OperatorConsole.Live;
using SmartCity.OperatorConsole.Security;
using SmartCity.OperatorConsole.Text;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.OperatorConsole.Hosting;

/// <summary>The operator console in the worker: two lines in its composition root (services, then endpoints).</summary>
public static class ConsoleHosting
{
    public static IServiceCollection AddOperatorConsole(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ConsoleOptions>().Bind(configuration.GetSection(ConsoleOptions.SectionName));
        services.AddSingleton<IValidateOptions<ConsoleOptions>>(new SectionValidator<ConsoleOptions>(ConsoleOptions.SectionName));
        services.AddSingleton(ConfigurationCheck.For<ConsoleOptions>());
        if (EnabledIn(configuration))
        {
            AddEnabledConsole(services);
        }

        return services;
    }

    /// <summary>
    /// Only called when the console is on: MVC, Razor Pages, Components and antiforgery are assemblies
    /// mapped and code compiled in every worker that merely compiles a method naming them, several MB of
    /// an idle worker's RSS (docs/performance.md). Not inlined, so that the JIT loads none of them for
    /// <see cref="AddOperatorConsole"/> itself.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void AddEnabledConsole(IServiceCollection services)
    {
        services.AddSingleton(new ConsoleRegistered());
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<ConsoleOptions>>().Value;
            var alerting = sp.GetRequiredService<IOptions<AlertingOptions>>().Value;
            return new AccountStore(options.ResolveUsersFile(alerting.StateFile), options.MaxFailedLogins, options.LockoutDuration, sp.GetRequiredService<TimeProvider>());
        });
        services.AddAlertNotifier<AlertFeed>();
        services.AddSingleton<Readings.DeviceReadings>();
        services.AddHttpContextAccessor();
        services.AddScoped<ConsoleText>();
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "smartcity-console-csrf";
            o.Cookie.Path = ConsoleAuth.BasePath;
            o.Cookie.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict;
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

    public static WebApplication MapOperatorConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

        if (app.Services.GetService<ConsoleRegistered>() is null)
        {
            throw new InvalidOperationException(
                $"{ConsoleOptions.SectionName}:Enabled was false when the console's services were registered and is true now: set it in appsettings.json or the environment, not in a configuration source added later");
        }

        MapEnabledConsole(app, options);
        return app;
    }

    /// <summary>Only called when the console is on (and not inlined): see <see cref="AddEnabledConsole"/>.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MapEnabledConsole(WebApplication app, ConsoleOptions options)
    {
        ConsoleAuth.AddOidcSchemeWhenEnabled(app.Services, options);
        var headers = SecureHeaders.For(options);
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(ConsoleAuth.BasePath))
            {
                context.Response.OnStarting(() =>
                {
                    headers.Apply(context.Response);
                    return Task.CompletedTask;
                });
            }

            return next(context);
        });
        app.UseAntiforgery();
        app.MapRazorPages();
        ConsoleEndpoints.Map(app, options);
        Lighting.LightingConsoleEndpoints.Map(app);
    }

    /// <summary>
    /// Read from the configuration as it is when the services are registered (options are bound later). A value
    /// that is not a boolean counts as on here, so the options check reports it instead of an exception.
    /// </summary>
    private static bool EnabledIn(IConfiguration configuration) =>
        !bool.TryParse(configuration[$"{ConsoleOptions.SectionName}:{nameof(ConsoleOptions.Enabled)}"], out var enabled) || enabled;

    /// <summary>Marks that the console's services were registered (only when it was enabled at that time).</summary>
    private sealed class ConsoleRegistered;
}

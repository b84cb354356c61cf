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
        return services;
    }

    public static WebApplication MapOperatorConsole(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var options = app.Services.GetRequiredService<IOptions<ConsoleOptions>>().Value;
        if (!options.Enabled)
        {
            return app;
        }

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
        return app;
    }
}

using System.Runtime.CompilerServices;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.OperatorConsole.Live;
using SmartCity.OperatorConsole.Security;
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
    /// Only called when the console is on: the worker's singletons the console shares (accounts, the live feed,
    /// the readings). MVC, Razor Pages, Components, antiforgery and the console's authentication are not
    /// registered here but in the console's own container, built on its first request (<see cref="ConsolePipeline"/>):
    /// registered here they were mapped and compiled in every idle worker, about 20 MB of its RSS (docs/performance.md).
    /// Not inlined, so that the JIT loads none of the console's types for <see cref="AddOperatorConsole"/> itself.
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
        services.AddSingleton<LazyConsole>();
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

        MapEnabledConsole(app);
        return app;
    }

    /// <summary>
    /// Only called when the console is on (and not inlined): see <see cref="AddEnabledConsole"/>. One endpoint
    /// takes every path under /console (anonymous here: the console's own policies decide, in its pipeline).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void MapEnabledConsole(WebApplication app)
    {
        var console = app.Services.GetRequiredService<LazyConsole>();
        var endpoint = app.Map(ConsoleAuth.BasePath + "/{**path}", console.InvokeAsync).AllowAnonymous();
        Microsoft.AspNetCore.Http.OpenApiRouteHandlerBuilderExtensions.ExcludeFromDescription(endpoint);
    }

    /// <summary>
    /// Read from the configuration as it is when the services are registered (options are bound later). A value
    /// that is not a boolean counts as on here, so the options check reports it instead of an exception.
    /// </summary>
    private static bool EnabledIn(IConfiguration configuration) =>
        !bool.TryParse(configuration[$"{ConsoleOptions.SectionName}:{nameof(ConsoleOptions.Enabled)}"], out var enabled) || enabled;

    /// <summary>Marks that the console's services were registered (only when it was enabled at that time).</summary>
    private sealed class ConsoleRegistered;

    /// <summary>The console's pipeline, built once (on the first request under /console) and disposed with the worker.</summary>
    private sealed class LazyConsole(IServiceProvider worker) : IAsyncDisposable
    {
        private readonly Lazy<ConsolePipeline> _pipeline = new(() => ConsolePipeline.Build(worker), LazyThreadSafetyMode.ExecutionAndPublication);

        public Task InvokeAsync(Microsoft.AspNetCore.Http.HttpContext context) => _pipeline.Value.InvokeAsync(context);

        public ValueTask DisposeAsync() => _pipeline.IsValueCreated ? _pipeline.Value.DisposeAsync() : ValueTask.CompletedTask;
    }
}

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.OutputCaching;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartCity.OpenData.Datasets;
using SmartCity.OpenData.Page;
using SmartCity.OpenData.Publishing;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.OpenData.Hosting;

/// <summary>The open-data feed in the worker: two lines in its composition root (services, then endpoints).</summary>
public static class OpenDataHosting
{
    public static IServiceCollection AddOpenData(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OpenDataOptions>().Bind(configuration.GetSection(OpenDataOptions.SectionName));
        services.AddSingleton<IValidateOptions<OpenDataOptions>>(new SectionValidator<OpenDataOptions>(OpenDataOptions.SectionName));
        services.AddSingleton(ConfigurationCheck.For<OpenDataOptions>());
        services.AddSingleton<InfluxQlReader>();
        services.AddSingleton<OpenDataBuilder>();
        services.AddSingleton<OpenDataStore>();
        services.AddSingleton<OpenDataRefresher>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<IOptions<OpenDataOptions>>().Value.Enabled
            ? sp.GetRequiredService<OpenDataRefresher>()
            : new NothingToRun());
        services.AddOutputCache();
        services.AddOptions<OutputCacheOptions>().Configure<IOptions<OpenDataOptions>>((o, openData) =>
            // Cached per language as chosen for the request (not per raw Accept-Language: a handful of entries).
            o.AddPolicy(OpenDataEndpoints.OutputCachePolicy, b => b
                .Expire(openData.Value.CacheDuration)
                .SetVaryByQuery("lang")
                .VaryByValue(context => new KeyValuePair<string, string>("language", OpenDataText.Choose(context.Request)))
                .Tag(OpenDataEndpoints.OutputCacheTag)));
        return services;
    }

    /// <summary>Maps <c>/open-data</c> when enabled; <paramref name="rateLimitPolicy"/> is the worker's anonymous-aware limiter.</summary>
    public static WebApplication MapOpenData(this WebApplication app, string rateLimitPolicy)
    {
        ArgumentNullException.ThrowIfNull(app);
        // From the configuration, not the options: invalid options are reported with every other setting
        // by the start-up check (ConfigurationCheck), not thrown from here while the host is being built.
        if (!app.Configuration.GetValue<bool>(OpenDataOptions.SectionName + ":" + nameof(OpenDataOptions.Enabled)))
        {
            return app;
        }

        try
        {
            _ = app.Services.GetRequiredService<IOptions<OpenDataOptions>>().Value;
        }
        catch (OptionsValidationException)
        {
            return app; // Reported with every other setting by the start-up check; the worker does not start.
        }

        var cache = app.Services.GetRequiredService<IOutputCacheStore>();
        app.Services.GetRequiredService<OpenDataStore>().Published += () => cache.EvictByTagAsync(OpenDataEndpoints.OutputCacheTag, CancellationToken.None).AsTask();
        app.UseOutputCache();
        OpenDataEndpoints.Map(app, rateLimitPolicy);
        return app;
    }

    private sealed class NothingToRun : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}

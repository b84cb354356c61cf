using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Worker.Talq;

/// <summary>The gateway side of TALQ (docs/integrations/talq.md): how the worker keeps each gateway's calendars and assignments current.</summary>
public sealed class TalqGatewayOptions
{
    public const string SectionName = "Talq";

    /// <summary>
    /// How often each gateway with an "api" entry is brought up to date: a lamp announced since the last round is
    /// assigned its schedule's calendar, and a request the gateway could not take (unreachable, 5xx) is made again.
    /// </summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan SyncInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The options, checked at start with the other settings, and the hosted service that applies them.</summary>
    public static IServiceCollection AddTalqGatewaySync(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TalqGatewayOptions>().Bind(configuration.GetSection(SectionName));
        services.AddSingleton<IValidateOptions<TalqGatewayOptions>>(new SectionValidator<TalqGatewayOptions>(SectionName));
        services.AddSingleton(ConfigurationCheck.For<TalqGatewayOptions>());
        return services.AddHostedService<TalqGatewaySync>();
    }
}

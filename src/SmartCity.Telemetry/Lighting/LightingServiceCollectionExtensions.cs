using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Telemetry.Lighting;

public static class LightingServiceCollectionExtensions
{
    /// <summary>
    /// Lighting control's shared services: the MQTT command channel (unless another transport is
    /// registered first), the service as an observer of accepted messages, and the schedules file
    /// checked with the settings at start. The hosted service itself is in PipelineStartOrder.
    /// </summary>
    public static IServiceCollection AddLightingControl(this IServiceCollection services)
    {
        services.TryAddSingleton<ICommandChannel, MqttCommandChannel>();
        services.AddSingleton<IDeviceMessageObserver>(sp => sp.GetRequiredService<LightingService>());
        services.AddSingleton(new ConfigurationCheck(sp => ScheduleLoader.Load(
            sp.GetRequiredService<IOptions<LightingOptions>>().Value.SchedulesFile).Errors.Select(e => "Lighting:SchedulesFile: " + e)));
        return services;
    }
}

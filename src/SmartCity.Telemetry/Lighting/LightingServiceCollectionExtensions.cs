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
        services.AddSingleton(new ConfigurationCheck(SchedulesFileProblems));
        return services;
    }

    private static IEnumerable<string> SchedulesFileProblems(IServiceProvider sp)
    {
        string? file;
        try
        {
            file = sp.GetRequiredService<IOptions<LightingOptions>>().Value.SchedulesFile;
        }
        catch (OptionsValidationException)
        {
            // Invalid Lighting settings are reported by their own check, with the others; the file waits for a valid section.
            return [];
        }

        return ScheduleLoader.Load(file).Errors.Select(e => "Lighting:SchedulesFile: " + e);
    }
}

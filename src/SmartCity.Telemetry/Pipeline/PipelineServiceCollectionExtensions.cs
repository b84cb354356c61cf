using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Ingestion;
using SmartCity.Telemetry.Storage;

namespace SmartCity.Telemetry.Pipeline;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>
    /// The telemetry pipeline: MQTT source -> decode -> durable spool -> InfluxDB sink. Every options class
    /// is bound to its section and validated when the host starts, before anything connects.
    /// </summary>
    public static IServiceCollection AddSmartCityPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddHostedService<ConfigurationCheckService>();
        AddValidatedOptions<MqttSourceOptions>(services, configuration, MqttSourceOptions.SectionName);
        services.PostConfigure<MqttSourceOptions>(o =>
        {
            if (o.Subscriptions.Length == 0)
            {
                o.Subscriptions = [MqttSourceOptions.DefaultSubscription];
            }
        });
        AddValidatedOptions<InfluxSinkOptions>(services, configuration, InfluxSinkOptions.SectionName);
        AddValidatedOptions<DecodingOptions>(services, configuration, DecodingOptions.SectionName);
        AddValidatedOptions<SpoolOptions>(services, configuration, SpoolOptions.SectionName);
        AddValidatedOptions<ProfilesOptions>(services, configuration, ProfilesOptions.SectionName);
        AddValidatedOptions<RegistryOptions>(services, configuration, RegistryOptions.SectionName);
        AddValidatedOptions<PipelineReportOptions>(services, configuration, PipelineReportOptions.SectionName);
        AddValidatedOptions<Alerting.AlertingOptions>(services, configuration, Alerting.AlertingOptions.SectionName);
        // The city rules file is checked with the settings: a bad override stops start-up, naming the rule.
        services.AddSingleton(new ConfigurationCheck(sp => Alerting.Rules.CityRulesLoader.Load(
            sp.GetRequiredService<IOptions<Alerting.AlertingOptions>>().Value.RulesFile,
            sp.GetRequiredService<ProfileSet>().Profiles).Errors.Select(e => "Alerting:RulesFile: " + e)));

        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<PipelineMetrics>();
        services.TryAddSingleton<ISpoolMetrics>(sp => sp.GetRequiredService<PipelineMetrics>());
        services.TryAddSingleton<DiskHealth>();
        services.TryAddSingleton<DeadLetters>();
        // Profiles are read once at start; refused files are logged by ProfileReport, the rest work.
        // A profile may belong to any configured sector (Decoding:Sectors), not only the defaults.
        services.TryAddSingleton(sp => ProfileLoader.LoadAll(sp.GetRequiredService<IOptions<ProfilesOptions>>().Value.Directory, ConfiguredSectors(sp)));
        services.AddHostedService<ProfileReport>();
        services.AddSingleton<Devices.Plugins.IPayloadDecoderPlugin, Devices.Plugins.CompactLampFrameDecoder>();
        services.TryAddSingleton<MessageDecoder>();
        services.TryAddSingleton<IPointWriter, InfluxPointWriter>();
        services.TryAddSingleton<InfluxDatabaseCheck>();

        // Hosted services start in this order and stop in reverse: the spool opens (and recovers)
        // first; the source stops first, flushing the spool and letting the sink drain it.
        services.AddSingleton<DeviceRegistry>();
        services.AddHostedService(sp => sp.GetRequiredService<DeviceRegistry>());
        services.AddSingleton<DurableSpool>();
        services.AddHostedService(sp => sp.GetRequiredService<DurableSpool>());
        services.AddSingleton<InfluxSink>();
        services.AddHostedService(sp => sp.GetRequiredService<InfluxSink>());
        services.AddAlerting(new ValidatedOptions(services, configuration));
        services.AddSingleton<MqttSource>();
        services.AddHostedService(sp => sp.GetRequiredService<MqttSource>());
        services.AddHostedService<PipelineReporter>();
        return services;
    }

    private sealed class ValidatedOptions(IServiceCollection services, IConfiguration configuration) : IOptionsRegistrar
    {
        public void Add<TOptions>(string section)
            where TOptions : class => AddValidatedOptions<TOptions>(services, configuration, section);
    }

    private static void AddValidatedOptions<TOptions>(IServiceCollection services, IConfiguration configuration, string section)
        where TOptions : class
    {
        services.AddOptions<TOptions>().Bind(configuration.GetSection(section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>>(new SectionValidator<TOptions>(section));
        services.AddSingleton(ConfigurationCheck.For<TOptions>());
    }

    // The city-rules check loads the profiles while every setting is being validated: invalid Decoding
    // settings must be reported with the others (ConfigurationCheck), not thrown from here first.
    private static IReadOnlyList<string> ConfiguredSectors(IServiceProvider sp)
    {
        try
        {
            return sp.GetRequiredService<IOptions<DecodingOptions>>().Value.EffectiveSectors;
        }
        catch (OptionsValidationException)
        {
            return DecodingOptions.DefaultSectors;
        }
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Rollups;
using SmartCity.Telemetry.Lighting;
using SmartCity.Telemetry.Source;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Composition;

public static class PipelineServiceCollectionExtensions
{
    /// <summary>
    /// The telemetry pipeline: MQTT source -> ingest -> durable spool -> InfluxDB sink, with alerting on the
    /// side. Every options class is bound to its section and validated when the host starts, before anything
    /// connects. The hosted services start and stop in the order stated in <see cref="PipelineStartOrder"/>.
    /// </summary>
    public static IServiceCollection AddSmartCityPipeline(this IServiceCollection services, IConfiguration configuration)
    {
        AddSettings(services, configuration);
        AddSharedServices(services);
        services.AddNetworkServers(configuration);
        AddNotifiers(services, configuration);
        foreach (var type in PipelineStartOrder.HostedServices)
        {
            // One instance per type, whether it is resolved as a hosted service or by its consumers.
            services.TryAddSingleton(type);
            services.AddSingleton(sp => (IHostedService)sp.GetRequiredService(type));
        }

        services.AddSingleton<IMessageHandler>(sp => sp.GetRequiredService<IngestStage>());
        return services;
    }

    private static void AddSettings(IServiceCollection services, IConfiguration configuration)
    {
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
        AddValidatedOptions<RollupOptions>(services, configuration, RollupOptions.SectionName);
        services.AddSingleton(new ConfigurationCheck(RollupOptions.CheckBuckets));
        AddValidatedOptions<Lighting.LightingOptions>(services, configuration, Lighting.LightingOptions.SectionName);
        AddValidatedOptions<Partitioning.TenancyOptions>(services, configuration, Partitioning.TenancyOptions.SectionName);
        // The city rules file is checked with the settings: a bad override stops start-up, naming the rule.
        services.AddSingleton(new ConfigurationCheck(sp => Alerting.Rules.CityRulesLoader.Load(
            sp.GetRequiredService<IOptions<Alerting.AlertingOptions>>().Value.RulesFile,
            sp.GetRequiredService<ProfileSet>().Profiles).Errors.Select(e => "Alerting:RulesFile: " + e)));
    }

    private static void AddSharedServices(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.TryAddSingleton<PipelineMetrics>();
        services.TryAddSingleton<ISpoolMetrics>(sp => sp.GetRequiredService<PipelineMetrics>());
        services.TryAddSingleton<DiskHealth>();
        services.TryAddSingleton<HeldIntake>();
        services.TryAddSingleton<DeadLetters>();
        // The registry's journal is made durable in the spool's commit, before the births it holds are acknowledged.
        services.AddSingleton<ISpoolCommitParticipant>(sp => sp.GetRequiredService<DeviceRegistry>());
        // So is the alert state's journal, once the alert engine has judged the readings of the commit.
        services.TryAddSingleton<AlertJournal>();
        services.AddSingleton<ISpoolCommitParticipant>(sp => sp.GetRequiredService<AlertJournal>());
        // Profiles are read once at start; refused files are logged by ProfileReport, the rest work.
        // A profile may belong to any configured sector (Decoding:Sectors), not only the defaults.
        services.TryAddSingleton(sp => ProfileLoader.LoadAll(sp.GetRequiredService<IOptions<ProfilesOptions>>().Value.Directory, ConfiguredSectors(sp)));
        services.AddSingleton<IPayloadDecoderPlugin, CompactLampFrameDecoder>();
        services.TryAddSingleton<MessageDecoder>();
        services.TryAddSingleton<IngestStage>();
        services.TryAddSingleton<IPointWriter, InfluxPointWriter>();
        services.TryAddSingleton<InfluxDatabaseCheck>();
        services.TryAddSingleton<IRollupStore, InfluxRollupStore>();
        services.AddLightingControl();
    }

    private static void AddNotifiers(IServiceCollection services, IConfiguration configuration) =>
        services.AddAlerting(new ValidatedOptions(services, configuration));

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

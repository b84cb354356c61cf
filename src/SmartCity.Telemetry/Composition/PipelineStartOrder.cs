using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Rollups;
using SmartCity.Telemetry.Source;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Composition;

/// <summary>
/// The order the pipeline starts in, stated once. <see cref="PipelineServiceCollectionExtensions.AddSmartCityPipeline"/>
/// registers these hosted services in exactly this order; the host starts them in it and stops them in
/// reverse (PipelineStartOrderTests checks the registrations against this list).
/// </summary>
public static class PipelineStartOrder
{
    public static IReadOnlyList<Type> HostedServices { get; } =
    [
        // Start: every setting validated and reported together, before anything opens or connects.
        typeof(ConfigurationCheckService),
        typeof(ProfileReport),
        // The registry loads the known devices before the first message is admitted.
        typeof(DeviceRegistry),
        // The spool opens and recovers before anything appends to it ...
        typeof(DurableSpool),
        // ... and the sink reads it. On stop the sink goes after the source, so it can drain what the source flushed.
        typeof(InfluxSink),
        // Rollups re-query what the sink stored (and wait for it to catch up).
        typeof(RollupService),
        // Notifier queues stop after alerting and deliver what it queued last.
        typeof(NotifierQueues),
        typeof(AlertingService),
        // Lighting control reports its alerts through alerting and writes through the spool; it
        // stops before both. It sends on a connection of its own.
        typeof(Lighting.LightingService),
        // Intake last. It stops first: it closes intake, flushes the spool and lets the sink drain it
        // (up to Mqtt:DrainTimeout) before disconnecting.
        typeof(MqttSource),
        typeof(PipelineReporter),
    ];
}

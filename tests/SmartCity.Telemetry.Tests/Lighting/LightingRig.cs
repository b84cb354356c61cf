using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.Telemetry.Tests.Lighting;

/// <summary>
/// The worker's decoder, device registry, spool, alerting service and lighting control, wired as in the worker over
/// files in one folder. Returned as parts, held by nothing here: a test can release them one by one (PerDeviceMemoryTests).
/// </summary>
internal static class LightingRig
{
    public static (MessageDecoder Decoder, DeviceRegistry Registry, DurableSpool Spool, AlertingService Alerting, LightingService Lighting) Create(
        string dir, ProfileSet profiles, PipelineMetrics metrics, TimeProvider time, ICommandChannel channel, int expectedDevices = 0)
    {
        var decoder = new MessageDecoder(Options.Create(new DecodingOptions()), profiles, []);
        var registry = new DeviceRegistry(Options.Create(new RegistryOptions { File = Path.Combine(dir, "registry.json"), ExpectedDevices = expectedDevices }), time, NullLogger<DeviceRegistry>.Instance);
        var spool = new DurableSpool(Options.Create(new SpoolOptions { Directory = Path.Combine(dir, "spool"), Fsync = false }), metrics, time, NullLogger<DurableSpool>.Instance);
        var alerting = new AlertingService(Options.Create(new AlertingOptions { StateFile = Path.Combine(dir, "alerts.json") }), profiles, spool, metrics, [], time, new DiskHealth(), NullLogger<AlertingService>.Instance);
        var lighting = new LightingService(
            Options.Create(new LightingOptions { StateFile = Path.Combine(dir, "lighting.json") }),
            Options.Create(new AlertingOptions()),
            registry,
            profiles,
            channel,
            alerting,
            spool,
            time,
            NullLogger<LightingService>.Instance);
        return (decoder, registry, spool, alerting, lighting);
    }
}

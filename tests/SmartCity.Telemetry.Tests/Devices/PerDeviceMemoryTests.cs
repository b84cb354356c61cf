using System.Buffers;
using System.Runtime;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Simulators.Scenarios;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Engine;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Lighting;
using SmartCity.Telemetry.Source;
using SmartCity.Telemetry.Tests.Lighting;
using Xunit.Abstractions;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>Alone: the measurement reads the whole process's GC heap, which a test running beside it would move.</summary>
[CollectionDefinition(nameof(MeasuredAlone), DisableParallelization = true)]
public sealed class MeasuredAlone;

/// <summary>
/// What the worker keeps per device with the bench's 100,000-device city (simulators/scenarios/load-100k.json:
/// 80,000 street lights, 1,600 cabinets, classrooms, doors, cameras...): the scenario's first 300,000
/// messages (every birth, then about two readings per device), decoded by the worker's decoder and handed to
/// the device registry, the alert engine and lighting control as the ingest stage does. The retained bytes
/// are the GC heap after full collections, with the messages gone; each component's share is what its
/// release frees, so a string the three share (the device id) is counted once, with the last one released.
/// </summary>
[Collection(nameof(MeasuredAlone))]
public sealed class PerDeviceMemoryTests(ITestOutputHelper output) : IDisposable
{
    private const int Devices = 100_000;
    private const int Messages = 300_000;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-devmem-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public void Observe_100000Devices_RetainsAtMostNBytesPerDevice()
    {
        using var city = new City(_dir);
        var empty = Heap();

        var (births, readings) = Feed(city);
        var all = Heap();
        city.Lighting = null;
        var withoutLighting = Heap();
        city.Alerts = null;
        var withoutAlerts = Heap();
        city.Registry = null;
        var none = Heap();

        var lighting = (all - withoutLighting) / (double)Devices;
        var alerts = (withoutLighting - withoutAlerts) / (double)Devices;
        var registry = (withoutAlerts - none) / (double)Devices;
        var total = (all - empty) / (double)Devices;
        output.WriteLine($"{births:N0} births, {readings:N0} readings; retained per device: registry {registry:F0} B, alert engine {alerts:F0} B, lighting {lighting:F0} B; total {total:F0} B ({(all - empty) / 1e6:F1} MB)");

        Assert.Equal(Devices, births);
        Assert.True(readings >= Messages - Devices - 1_000, $"{readings} readings");
        Assert.True(registry <= MaxRegistryBytes, $"registry: {registry:F0} B per device (bound {MaxRegistryBytes})");
        Assert.True(alerts <= MaxAlertBytes, $"alert engine: {alerts:F0} B per device (bound {MaxAlertBytes})");
        Assert.True(lighting <= MaxLightingBytes, $"lighting: {lighting:F0} B per device (bound {MaxLightingBytes})");
        Assert.True(total <= MaxTotalBytes, $"all: {total:F0} B per device (bound {MaxTotalBytes})");
    }

    // Measured, then a margin: 14b8b4e kept registry 349, alert engine 246, lighting 265, in all 867 bytes per device;
    // wt-int (2c8462e) lighting 183, all 690; one record per lamp (wt-lamp) lighting 96, all 603.
    private const int MaxRegistryBytes = 310;
    private const int MaxAlertBytes = 240;
    private const int MaxLightingBytes = 110;
    private const int MaxTotalBytes = 640;

    /// <summary>The GC heap's live bytes: a full blocking collection that also compacts the large-object heap (where the big dictionaries' arrays live), finalizers run, and another.</summary>
    private static long Heap()
    {
        GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    /// <summary>The messages one at a time, as the ingest stage hands them on (nothing of them kept here).</summary>
    private static (int Births, int Readings) Feed(City city)
    {
        var scenario = Scenario.Load(Path.Combine(AppContext.BaseDirectory, "scenarios", "load-100k.json"));
        var start = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        using var generator = new CityGenerator(scenario with { Start = start }, start, start + scenario.Duration);
        int births = 0, readings = 0, n = 0;
        foreach (var m in generator.Messages().Take(Messages))
        {
            var receivedAt = m.SimTime.AddMilliseconds(50);
            city.Time.SetUtcNow(receivedAt);
            var outcome = city.Registry!.Admit(city.Decoder.Decode(m.Topic, new ReadOnlySequence<byte>(m.Payload), receivedAt), receivedAt);
            Assert.True(outcome.Status == DecodeStatus.Accepted, $"{m.Topic}: {outcome.Result.Reason} {outcome.Result.Detail}");
            var topic = outcome.Topic!.Value;
            var point = outcome.Result.Point!;
            city.ObserveAlerts(topic, point);
            city.Lighting!.Observe(topic, point, receivedAt);
            births += topic.Kind == MessageKind.Status ? 1 : 0;
            readings += topic.Kind == MessageKind.Telemetry ? 1 : 0;
            if (++n % 1_000 == 0)
            {
                // The spool's group commit writes the registry's journal (here without fsync).
                ((ISpoolCommitParticipant)city.Registry).MakeDurable(fsync: false);
            }
        }

        ((ISpoolCommitParticipant)city.Registry!).MakeDurable(fsync: false);
        return (births, readings);
    }

    /// <summary>The components that keep something per device, wired as in the worker; released one by one.</summary>
    private sealed class City : IDisposable
    {
        private readonly AlertingService _alerting;

        public City(string dir)
        {
            var profiles = ProfileLoader.LoadAll(null);
            Profiles = profiles;
            var channel = new MqttCommandChannel(Options.Create(new MqttSourceOptions { Host = "unused.test" }), Options.Create(new DecodingOptions()), Time);
            (Decoder, Registry, Spool, _alerting, Lighting) = LightingRig.Create(dir, profiles, Metrics, Time, channel);
            Alerts = new AlertEngine(new AlertingOptions(), profiles.Profiles, null, Time);
        }

        public FakeTimeProvider Time { get; } = new(new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero));

        public PipelineMetrics Metrics { get; } = new();

        public ProfileSet Profiles { get; }

        public MessageDecoder Decoder { get; }

        public DurableSpool Spool { get; }

        public DeviceRegistry? Registry { get; set; }

        public AlertEngine? Alerts { get; set; }

        public LightingService? Lighting { get; set; }

        public void Dispose()
        {
            _alerting.Dispose();
            Spool.Dispose();
        }

        /// <summary>What <see cref="AlertingService"/> hands its engine for a message (births, readings, events).</summary>
        public void ObserveAlerts(in DeviceTopic topic, Point point)
        {
            if (Profiles.ForDeviceType(topic.DeviceType) is not { } profile)
            {
                return;
            }

            if (topic.Kind != MessageKind.Status)
            {
                Alerts!.Observe(point, profile.Id);
            }
            else if (point.GetField("online") is { Boolean: true })
            {
                var parent = point.GetField("parent") is { Type: FieldType.String } p ? p.Text : null;
                Alerts!.DeviceCameOnline(new DeviceIdentity(topic.DeviceId, topic.Sector, topic.District, topic.Site, topic.DeviceType), profile.Id, point.Timestamp, parent);
            }
        }
    }
}

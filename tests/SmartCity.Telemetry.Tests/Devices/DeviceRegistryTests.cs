using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Simulators.Lighting;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>
/// The registry with the worker's own decoder (built by its composition root) and the simulator's
/// street lights: births, wills and telemetry as the worker receives them.
/// </summary>
public sealed partial class DeviceRegistryTests : IDisposable
{
    private static readonly MessageDecoder Decoder = BuildDecoder();
    // How the registry file was written before it was streamed: indented, by the serializer.
    private static readonly JsonSerializerOptions SerializerAsBefore = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "registry-tests-" + Guid.NewGuid().ToString("N"));
    private readonly DateTimeOffset _t0 = DateTimeOffset.UtcNow.AddMinutes(-1);

    private string File => Path.Combine(_directory, "registry.json");

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private static MessageDecoder BuildDecoder()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSmartCityPipeline(new ConfigurationBuilder().Build());
        return services.BuildServiceProvider().GetRequiredService<MessageDecoder>();
    }

    private DeviceRegistry NewRegistry() =>
        new(Options.Create(new RegistryOptions { File = File }), TimeProvider.System, NullLogger<DeviceRegistry>.Instance);

    private static DecodeOutcome Decode(SimulatedMessage m, DateTimeOffset receivedAt) =>
        Decoder.Decode(m.Topic, new ReadOnlySequence<byte>(m.Payload), receivedAt);

    private static DecodeOutcome Admit(DeviceRegistry registry, SimulatedMessage m, DateTimeOffset receivedAt) =>
        registry.Admit(Decode(m, receivedAt), receivedAt);

    private StreetLightFleet Fleet(int lamps) => new(lamps, 4, "city", seed: 5, _t0, TimeSpan.FromSeconds(1));

    private static SimulatedMessage Will(StreetLight lamp) =>
        new(StreetLightFleet.TopicFor("city", lamp, "status"), """{"v":1,"online":false}"""u8.ToArray(), lamp.DeviceId, default);

    [Fact]
    public void Admit_TelemetryFromKnownDevice_AllocatesNothing()
    {
        var fleet = Fleet(1);
        var registry = NewRegistry();
        Assert.Equal(DecodeStatus.Accepted, Admit(registry, fleet.Birth(fleet.Lamps[0], _t0), _t0).Status);
        var telemetry = Decode(fleet.Create(1), _t0);
        Assert.Equal(DecodeStatus.Accepted, telemetry.Status);
        for (var i = 1; i <= 1_000; i++)
        {
            registry.Admit(telemetry, _t0.AddTicks(i));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        DecodeOutcome last = default;
        for (var i = 1_001; i <= 101_000; i++)
        {
            last = registry.Admit(telemetry, _t0.AddTicks(i));
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(DecodeStatus.Accepted, last.Status);
        Assert.Equal(0, allocated);
        Assert.Equal(_t0.AddTicks(101_000), registry.Find(fleet.Lamps[0].DeviceId)!.LastSeen);
    }

    [Fact]
    public void Admit_OlderTelemetry_KeepsTheLatestLastSeen()
    {
        var fleet = Fleet(1);
        var registry = NewRegistry();
        Admit(registry, fleet.Birth(fleet.Lamps[0], _t0), _t0);
        Admit(registry, fleet.Create(1), _t0.AddSeconds(10));
        Admit(registry, fleet.Create(2), _t0.AddSeconds(5));

        Assert.Equal(_t0.AddSeconds(10), registry.Find(fleet.Lamps[0].DeviceId)!.LastSeen);
    }

    [Fact]
    public void Admit_TelemetryAfterWill_DeviceIsOnlineAgainAndWillIsKept()
    {
        var fleet = Fleet(1);
        var lamp = fleet.Lamps[0];
        var registry = NewRegistry();
        Admit(registry, fleet.Birth(lamp, _t0), _t0);
        Assert.Equal(DecodeStatus.Accepted, Admit(registry, Will(lamp), _t0.AddSeconds(1)).Status);
        Assert.False(registry.Find(lamp.DeviceId)!.Online);
        Assert.Equal(0, registry.CountOnline());

        Assert.Equal(DecodeStatus.Accepted, Admit(registry, fleet.Create(1), _t0.AddSeconds(2)).Status);

        var device = registry.Find(lamp.DeviceId)!;
        Assert.True(device.Online);
        Assert.Equal(_t0.AddSeconds(2), device.LastSeen);
        Assert.Equal(_t0.AddSeconds(1), device.WentOffline);
        Assert.Equal(1, registry.CountOnline());
    }

    [Fact]
    public void Admit_ZeroLengthStatus_IsTheDevicesRemoval_NotMalformed()
    {
        // Issue 24 item 3: clearing the retained birth (how MQTT removes a device) was dead-lettered as MalformedJson.
        var fleet = Fleet(2);
        var lamp = fleet.Lamps[0];
        var registry = NewRegistry();
        Admit(registry, fleet.Birth(lamp, _t0), _t0);
        Admit(registry, fleet.Birth(fleet.Lamps[1], _t0), _t0);
        var clear = new SimulatedMessage(StreetLightFleet.TopicFor("city", lamp, "status"), [], lamp.DeviceId, default);

        var outcome = Admit(registry, clear, _t0.AddSeconds(5));

        Assert.Equal(DecodeStatus.Accepted, outcome.Status);
        Assert.True(StatusDecoder.IsRemoval(outcome.Result.Point!));
        Assert.Equal(
            $"device_status,device_id={lamp.DeviceId},device_type=streetlight,district={lamp.District},sector=lighting,site={lamp.Site} online=false,removed=true {(_t0.AddSeconds(5) - DateTimeOffset.UnixEpoch).Ticks * 100}",
            LineProtocol.Format(outcome.Result.Point!));
        Assert.Null(registry.Find(lamp.DeviceId));
        Assert.Equal(1, registry.Count);
        registry.Save();
        Assert.Null(NewRegistry().Find(lamp.DeviceId));

        // What the removed device still sends is quarantined, as from any device without a birth.
        var late = Admit(registry, fleet.Create(0), _t0.AddSeconds(6));
        Assert.Equal(lamp.DeviceId, late.Topic!.Value.DeviceId);
        Assert.Equal(RejectReason.UnknownDevice, late.Result.Reason);
    }

    [Fact]
    public void Admit_TelemetryFromUnknownDevice_IsQuarantined()
    {
        var fleet = Fleet(2);
        var registry = NewRegistry();
        Admit(registry, fleet.Birth(fleet.Lamps[0], _t0), _t0);

        var outcome = Admit(registry, fleet.Create(1), _t0);

        Assert.Equal(DecodeStatus.Rejected, outcome.Status);
        Assert.Equal(RejectReason.UnknownDevice, outcome.Result.Reason);
        Assert.Equal(1, registry.QuarantinedCount);
        Assert.Equal(fleet.Lamps[1].DeviceId, Assert.Single(registry.Quarantined).DeviceId);
    }

    [Fact]
    public void Save_ThenLoad_RestoresEveryDeviceWithItsLastSeen()
    {
        var fleet = Fleet(50);
        var registry = NewRegistry();
        foreach (var lamp in fleet.Lamps)
        {
            Admit(registry, fleet.Birth(lamp, _t0), _t0);
        }

        for (var k = 0; k < 200; k++)
        {
            Admit(registry, fleet.Create(k), _t0.AddSeconds(k + 1));
        }

        Admit(registry, Will(fleet.Lamps[7]), _t0.AddMinutes(10));
        registry.Save();

        Assert.False(System.IO.File.Exists(File + ".tmp"));
        var reloaded = NewRegistry();
        Assert.Equal(registry.Devices, reloaded.Devices);
        Assert.Equal(50, reloaded.Count);
        Assert.Equal(49, reloaded.CountOnline());
        var ids = JsonDocument.Parse(System.IO.File.ReadAllBytes(File)).RootElement.EnumerateArray().Select(d => d.GetProperty("deviceId").GetString()).ToList();
        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
    }

    [Fact]
    public void Load_FileWrittenByTheSerializer_IsRead()
    {
        var record = new DeviceRecord
        {
            DeviceId = "lamp-1", Sector = "lighting", District = "d01", Site = "s1", DeviceType = "streetlight", Profile = "streetlight",
            Firmware = null, Lat = 52.1, Lon = null, Online = true, FirstSeen = _t0, LastSeen = _t0.AddSeconds(3), LastBirth = _t0,
        };
        Directory.CreateDirectory(_directory);
        System.IO.File.WriteAllBytes(File, JsonSerializer.SerializeToUtf8Bytes(new[] { record }, SerializerAsBefore));

        Assert.Equal([record], NewRegistry().Devices);
    }

    [Fact]
    public void Save_HundredThousandDevices_StreamsWithoutBuildingTheFileInMemory()
    {
        var fleet = new StreetLightFleet(100_000, 16, "city", seed: 5, _t0, TimeSpan.FromSeconds(1));
        var registry = NewRegistry();
        foreach (var lamp in fleet.Lamps)
        {
            Admit(registry, fleet.Birth(lamp, _t0), _t0);
        }

        for (var k = 0; k < 100_000; k++)
        {
            Admit(registry, fleet.Create(k), _t0.AddSeconds(1));
        }

        registry.Save();
        Admit(registry, Will(fleet.Lamps[0]), _t0.AddSeconds(2));
        var before = GC.GetAllocatedBytesForCurrentThread();
        registry.Save();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        var length = new FileInfo(File).Length;
        Assert.True(length > 20_000_000, $"file {length} bytes");
        // The file is tens of MB; saving it allocates a small fraction of that (writer and file buffers).
        Assert.True(allocated < 2_000_000, $"{allocated} bytes allocated to save {length} bytes");
        Assert.Equal(100_000, NewRegistry().Count);
    }

    [Fact]
    public void Admit_Births_DevicesShareOneInstanceOfEachNameAndKeepTheirIdAcrossRebirths()
    {
        var fleet = Fleet(200);
        var registry = NewRegistry();
        foreach (var lamp in fleet.Lamps)
        {
            Admit(registry, fleet.Birth(lamp, _t0), _t0);
        }

        var records = fleet.Lamps.Select(l => registry.Find(l.DeviceId)!).ToList();
        // Every birth decoded its own strings; the registry keeps one instance per distinct name.
        Assert.Equal(records.Select(r => r.District).Distinct().Count(), records.Select(r => r.District).Distinct(ReferenceComparer).Count());
        Assert.Equal(records.Select(r => r.Site).Distinct().Count(), records.Select(r => r.Site).Distinct(ReferenceComparer).Count());
        Assert.Single(records.Select(r => r.Sector).Distinct(ReferenceComparer));
        Assert.Single(records.Select(r => r.DeviceType).Distinct(ReferenceComparer));
        Assert.Single(records.Select(r => r.Profile).Distinct(ReferenceComparer));
        Assert.True(records.Select(r => r.Site).Distinct().Count() < 200, "the fleet puts several lamps on a site");

        // A rebirth (new strings from the new message) keeps the id instance the registry already holds.
        var id = records[0].DeviceId;
        Admit(registry, fleet.Birth(fleet.Lamps[0], _t0.AddSeconds(1)), _t0.AddSeconds(1));
        Assert.Same(id, registry.Find(fleet.Lamps[0].DeviceId)!.DeviceId);
        Assert.Same(records[0].District, registry.Find(fleet.Lamps[0].DeviceId)!.District);
    }

    [Fact]
    public void Load_DevicesShareOneInstanceOfEachName()
    {
        var fleet = Fleet(50);
        var registry = NewRegistry();
        foreach (var lamp in fleet.Lamps)
        {
            Admit(registry, fleet.Birth(lamp, _t0), _t0);
        }

        registry.Save();
        var loaded = NewRegistry();
        var records = fleet.Lamps.Select(l => loaded.Find(l.DeviceId)!).ToList();

        Assert.Equal(50, records.Count);
        Assert.Equal(records.Select(r => r.District).Distinct().Count(), records.Select(r => r.District).Distinct(ReferenceComparer).Count());
        Assert.Single(records.Select(r => r.Profile).Distinct(ReferenceComparer));
        Assert.Single(records.Select(r => r.DeviceType).Distinct(ReferenceComparer));
    }

    private static readonly IEqualityComparer<string> ReferenceComparer = ReferenceEqualityComparer.Instance;

    [Fact]
    public async Task SaveLoop_SaveFails_CountedShownAndRetriedWithoutStopping()
    {
        // The registry's folder is a plain file: every save fails with an IOException, as on a full disk.
        Directory.CreateDirectory(_directory);
        var blocked = Path.Combine(_directory, "blocked");
        System.IO.File.WriteAllText(blocked, "not a folder");
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(_t0);
        var disk = new SmartCity.Telemetry.Diagnostics.DiskHealth();
        var options = new RegistryOptions { File = Path.Combine(blocked, "registry.json"), SaveInterval = TimeSpan.FromSeconds(10) };
        var registry = new DeviceRegistry(Options.Create(options), time, NullLogger<DeviceRegistry>.Instance, disk);
        var fleet = Fleet(1);
        Admit(registry, fleet.Birth(fleet.Lamps[0], _t0), _t0);
        await registry.StartAsync(CancellationToken.None);

        // ExecuteAsync starts on the thread pool (.NET 10), so its timer may not exist yet: tick until it saw three saves fail.
        await TickUntilAsync(time, options.SaveInterval, () => registry.SaveFailures >= 3);

        Assert.False(registry.ExecuteTask!.IsCompleted);
        Assert.True(disk.IsFailing("device registry"));
        Assert.Equal(1, disk.Episodes);
        Assert.Contains(disk.Problems, p => p.Path == Path.GetFullPath(options.File));

        // Space again: the next tick saves what the failed ones could not, and the state clears.
        System.IO.File.Delete(blocked);
        await TickUntilAsync(time, options.SaveInterval, () => !disk.IsFailing("device registry"));
        Assert.True(System.IO.File.Exists(options.File));
        Assert.False(registry.ExecuteTask.IsCompleted);
        await registry.StopAsync(CancellationToken.None);
        Assert.Equal(1, disk.Episodes);
    }

    private static async Task TickUntilAsync(Microsoft.Extensions.Time.Testing.FakeTimeProvider time, TimeSpan tick, Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            time.Advance(tick);
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }
}

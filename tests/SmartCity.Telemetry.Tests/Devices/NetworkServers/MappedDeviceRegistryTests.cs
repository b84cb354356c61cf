using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Registry;
using static SmartCity.Telemetry.Tests.Devices.NetworkServers.NetworkTestKit;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary>The registry with network-server devices: known from the mapping without a birth, unknown ones quarantined.</summary>
public sealed class MappedDeviceRegistryTests : IDisposable
{
    private static readonly DateTimeOffset Received = new(2022, 7, 18, 9, 35, 10, TimeSpan.Zero);
    private readonly string _file = Path.Combine(Path.GetTempPath(), "mapped-registry-" + Guid.NewGuid().ToString("N") + ".json");

    // The worker started (and registered the mapped devices) a minute before the samples' uplinks.
    private DeviceRegistry NewRegistry() =>
        new(Options.Create(new RegistryOptions { File = _file }), new FakeTimeProvider(Received.AddMinutes(-1)), NullLogger<DeviceRegistry>.Instance);

    [Fact]
    public void Admit_UplinkOfAMappedDeviceWithoutBirth_AcceptedAndSeen()
    {
        var registry = NewRegistry();
        var decoder = Decoder();
        registry.Preregister(decoder.Mappings.Devices.Select(d => (d.Topic, d.Profile.Id)));
        var up = With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("data", "AQDiAikGAwg="));

        var outcome = registry.Admit(decoder.Decode($"application/{SchoolApp}/device/0101010101010101/event/up", up, Received), Received);

        Assert.Equal(DecodeStatus.Accepted, outcome.Status);
        Assert.True(registry.Find("co2-s7-101")!.Online);
    }

    [Fact]
    public void Admit_UnknownDevEuiRejectedByTheDecoder_ListedInQuarantine()
    {
        var registry = NewRegistry();
        var up = With(FieldNetworks.Sample("chirpstack/up.data-only.json"), ("deviceInfo/devEui", "70b3d57ed0000001"));

        registry.Admit(Decoder().Decode($"application/{SchoolApp}/device/70b3d57ed0000001/event/up", up, Received), Received);

        var quarantined = Assert.Single(registry.Quarantined);
        Assert.Equal(("70b3d57ed0000001", "chirpstack", 1L), (quarantined.DeviceId, quarantined.DeviceType, quarantined.Messages));
    }

    [Fact]
    public void Preregister_DeviceTheMappingMovedToAnotherSite_TakesTheMappingsIdentityKeepsFirstSeen()
    {
        var registry = NewRegistry();
        var topic = new DeviceTopic("education", "d07", "school-7", "classroom_env", "co2-1", MessageKind.Telemetry);
        Assert.Equal(1, registry.Preregister([(topic, "classroom_env")]));
        var first = registry.Find("co2-1")!.FirstSeen;

        var unchanged = registry.Preregister([(topic, "classroom_env")]);
        var moved = registry.Preregister([(topic with { Site = "school-8" }, "classroom_env")]);

        Assert.Equal((0, 1), (unchanged, moved));
        Assert.Equal(("school-8", first, false), (registry.Find("co2-1")!.Site, registry.Find("co2-1")!.FirstSeen, registry.Find("co2-1")!.Online));
    }

    public void Dispose()
    {
        if (File.Exists(_file))
        {
            File.Delete(_file);
        }
    }
}

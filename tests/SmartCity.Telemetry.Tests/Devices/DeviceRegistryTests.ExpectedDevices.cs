using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>
/// <see cref="RegistryOptions.ExpectedDevices"/> only sizes the map at start: a city with more devices than
/// configured registers, saves, journals and reloads all of them; a negative count is refused at start.
/// </summary>
public sealed partial class DeviceRegistryTests
{
    private DeviceRegistry NewRegistry(int expectedDevices) =>
        new(Options.Create(new RegistryOptions { File = File, ExpectedDevices = expectedDevices }), TimeProvider.System, NullLogger<DeviceRegistry>.Instance);

    [Fact]
    public void Admit_MoreBirthsThanExpectedDevices_RegistersSavesAndReloadsThemAll()
    {
        var fleet = Fleet(300);
        var registry = NewRegistry(expectedDevices: 10);
        foreach (var lamp in fleet.Lamps.Take(200))
        {
            Assert.Equal(DecodeStatus.Accepted, Admit(registry, fleet.Birth(lamp, _t0), _t0).Status);
        }

        registry.Save();
        // These 100 only in the journal (made durable by the spool's commit), as after a crash before the next save.
        foreach (var lamp in fleet.Lamps.Skip(200))
        {
            Admit(registry, fleet.Birth(lamp, _t0.AddSeconds(1)), _t0.AddSeconds(1));
        }

        Commit(registry);
        Assert.Equal(300, registry.Count);

        var reloaded = NewRegistry(expectedDevices: 10);
        Assert.Equal(300, reloaded.Count);
        Assert.All(fleet.Lamps, lamp => Assert.True(reloaded.Find(lamp.DeviceId)!.Online));
        Assert.Equal(
            registry.Devices.Select(d => (d.DeviceId, d.LastSeen, d.LastBirth)),
            reloaded.Devices.Select(d => (d.DeviceId, d.LastSeen, d.LastBirth)));
    }

    [Fact]
    public void Options_NegativeExpectedDevices_RefusedAtStart()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new KeyValuePair<string, string?>("Registry:ExpectedDevices", "-1")])
            .Build();
        using var provider = new ServiceCollection().AddSmartCityPipeline(configuration).BuildServiceProvider();

        var failure = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<RegistryOptions>>().Value);
        Assert.Contains(failure.Failures, f => f.Contains("ExpectedDevices", StringComparison.Ordinal));
    }
}

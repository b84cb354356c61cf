using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Tests.Composition;
using SmartCity.Telemetry.Devices.NetworkServers;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;
using static SmartCity.Telemetry.Tests.Devices.NetworkServers.NetworkTestKit;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary>Mapping files: every problem named by file and property; what a valid one subscribes to and registers.</summary>
public sealed class NetworkMappingLoaderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-mapping-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public void Load_ExampleFilesShippedInNetworksExamples_NoProblems()
    {
        var mappings = NetworkMappingLoader.Load(FieldNetworks.ExamplesDirectory, FieldNetworks.Profiles, CodecNames);

        Assert.Empty(mappings.Errors);
        Assert.Equal(["co2-s7-101", "env-s7-102", "lc-d01-003", "lc-d01-004"], mappings.Devices.Select(d => d.Topic.DeviceId).Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("\"network\": \"chirpstack\"", "\"network\": \"loriot\"", "$.network: must be 'chirpstack' or 'the-things-stack'")]
    [InlineData("\"profile\": \"classroom_env\"", "\"profile\": \"parking\"", "$.profile: 'parking' is not a device profile in force")]
    [InlineData("\"0101010101010101\"", "\"01010101\"", "$.devices[0].devEui: must be 16 hex digits")]
    [InlineData("\"deviceId\": \"co2-s7-101\"", "\"deviceId\": \"co2 s7\"", "$.devices[0].deviceId: must be 1..64 characters")]
    [InlineData("\"1\": \"elsys_ers_v1\"", "\"1\": \"elsys\"", "$.codecs.1: no decoder plug-in named 'elsys' is registered")]
    [InlineData("\"1\": \"elsys_ers_v1\"", "\"300\": \"elsys_ers_v1\"", "$.codecs.300: must be an application fPort, 1..223")]
    [InlineData("\"field\": \"co2_ppm\"", "\"field\": \"co2\"", "$.fields['co2'].field: 'co2' is not a field of the profile's telemetry")]
    [InlineData("\"unit\": \"degC\"", "\"unit\": \"degF\"", "$.fields['temperature'].unit: 'degF' cannot be converted to the profile field's unit 'degC'")]
    [InlineData("\"district\": \"d07\"", "\"district\": \"d07\", \"distrct\": \"x\"", "'distrct' could not be mapped")]
    [InlineData("\"site\": \"school-7\",", "\"site\": \"school-7\"", "test-0.mapping.json:4:")]
    [InlineData("{ \"devEui\": \"0101010101010101\", ", "{ ", "$.devices[0].devEui: is required (ChirpStack names devices by DevEUI)")]
    public void Load_OneMistake_NamedByFileAndProperty(string find, string replace, string problem)
    {
        var mappings = Mappings(ChirpStackSchool.Replace(find, replace, StringComparison.Ordinal));

        var error = Assert.Single(mappings.Errors);
        Assert.StartsWith("test-0.mapping.json", error, StringComparison.Ordinal);
        Assert.Contains(problem, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_SameDeviceIdInTwoFiles_BothFilesNamed()
    {
        var other = ChirpStackSchool.Replace("0101010101010101", "0202020202020202", StringComparison.Ordinal);

        var mappings = Mappings(ChirpStackSchool, other);

        Assert.Equal("test-1.mapping.json: $.devices: deviceId 'co2-s7-101' is also mapped in test-0.mapping.json", Assert.Single(mappings.Errors));
    }

    [Fact]
    public void Load_MissingFolder_Named()
    {
        var mappings = NetworkMappingLoader.Load(_dir, FieldNetworks.Profiles, CodecNames);

        Assert.Contains(_dir, Assert.Single(mappings.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void TopicFilters_ChirpStackTtsAndPubSub_OneFilterPerEventShape()
    {
        var pubSub = TtsLamps.Replace("\"devices\"", "\"pubSub\": { \"uplink\": \"lora/up\" }, \"topicPrefix\": \"tts/v3\", \"devices\"", StringComparison.Ordinal);

        var mappings = Mappings(ChirpStackSchool, pubSub);

        Assert.Equal(["application/+/device/+/event/+", "tts/v3/+/devices/+/up", "tts/v3/+/devices/+/join", "lora/up"], mappings.TopicFilters);
    }

    [Theory]
    [InlineData(new[] { "city/#" }, new[] { "city/#", "application/+/device/+/event/+" })]
    [InlineData(new[] { "city/#", "application/#" }, new[] { "city/#", "application/#" })]
    [InlineData(new[] { "#" }, new[] { "#" })]
    [InlineData(new[] { "application/+/device/+/event/+" }, new[] { "application/+/device/+/event/+" })]
    [InlineData(new[] { "$share/workers/city/#" }, new[] { "$share/workers/city/#", "$share/workers/application/+/device/+/event/+" })]
    [InlineData(new[] { "$share/workers/application/#" }, new[] { "$share/workers/application/#" })]
    public void WithFilters_AFilterAlreadyCovered_NotSubscribedTwice(string[] configured, string[] expected)
    {
        Assert.Equal(expected, NetworkServerServiceCollectionExtensions.NetworkSubscriptions.WithFilters(configured, ["application/+/device/+/event/+"]));
    }

    [Fact]
    public async Task AddSmartCityPipeline_WithAndWithoutMappings_SubscribesToNetworkTopicsOnlyWhenMapped()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "school.mapping.json"), ChirpStackSchool);

        await using var without = Build(null);
        await using var with = Build(_dir);

        Assert.Equal(["city/#"], without.GetRequiredService<IOptions<MqttSourceOptions>>().Value.Subscriptions);
        Assert.Equal(["city/#", "application/+/device/+/event/+"], with.GetRequiredService<IOptions<MqttSourceOptions>>().Value.Subscriptions);
        Assert.Empty(ConfigurationCheck.ValidateAll(with));
        // Known from the mapping: registered without a birth, offline until heard.
        var record = with.GetRequiredService<DeviceRegistry>().Find("co2-s7-101");
        Assert.Equal(("education", "d07", "school-7", "classroom_env", "classroom_env", false), (record!.Sector, record.District, record.Site, record.DeviceType, record.Profile, record.Online));
    }

    [Fact]
    public async Task AddSmartCityPipeline_BadMappingFile_ConfigurationCheckNamesIt()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllText(Path.Combine(_dir, "school.mapping.json"), ChirpStackSchool.Replace("d07", "d 07", StringComparison.Ordinal));

        await using var provider = Build(_dir);

        var problem = Assert.Single(ConfigurationCheck.ValidateAll(provider));
        Assert.StartsWith("NetworkServers: " + Path.Combine(_dir, "school.mapping.json") + ": $.district:", problem, StringComparison.Ordinal);
    }

    // Each provider its own registry file: a second one must not find the first one's devices.
    private ServiceProvider Build(string? mappings) =>
        PipelineStartOrderTests.Build(_dir, new Dictionary<string, string?>
        {
            ["Registry:File"] = Path.Combine(_dir, Guid.NewGuid().ToString("N") + "-registry.json"),
            ["NetworkServers:Directory"] = mappings,
        });

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>Issue 24: sectors are configuration (<c>Decoding:Sectors</c>), not a closed list in code.</summary>
public class SectorConfigurationTests
{
    [Fact]
    public void TryParse_ConfiguredExtraSector_Accepted_DefaultsStillRejectIt()
    {
        const string Topic = "city/waste/d01/d01-street-001/waste_bin/bin-0001/telemetry";
        var configured = new TopicParser("city", sectors: [.. DecodingOptions.DefaultSectors, "waste"]);

        Assert.True(configured.TryParse(Topic, out var parsed, out _));
        Assert.Equal("waste", parsed.Sector);
        Assert.False(new TopicParser("city").TryParse(Topic, out _, out var error));
        Assert.Equal("unknown sector 'waste' (expected one of education, lighting, security)", error);
    }

    [Theory]
    [InlineData("waste bin")]
    [InlineData("wa/ste")]
    [InlineData("")]
    [InlineData("déchets")]
    public void Validate_SectorOutsideTheTopicAlphabet_Refused(string sector)
    {
        var result = new SectionValidator<DecodingOptions>(DecodingOptions.SectionName)
            .Validate(null, new DecodingOptions { Sectors = ["lighting", sector] });

        Assert.True(result.Failed);
        Assert.Contains("Sectors", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DefaultsAndARepeatedSector()
    {
        var validator = new SectionValidator<DecodingOptions>(DecodingOptions.SectionName);

        Assert.True(validator.Validate(null, new DecodingOptions()).Succeeded);
        Assert.True(validator.Validate(null, new DecodingOptions { Sectors = ["lighting", "waste"] }).Succeeded);
        Assert.True(validator.Validate(null, new DecodingOptions { Sectors = ["waste", "waste"] }).Failed);
    }

    [Fact]
    public void Bind_DefaultsListedWithAnExtraSector_ExactlyThoseAndValid()
    {
        // The documented way (README: "list the defaults when adding waste") used to fail at start with
        // "sectors must not repeat": the binder appended the configured items to the default list.
        string[] configured = ["lighting", "education", "security", "waste"];
        var settings = configured.Select((s, i) => new KeyValuePair<string, string?>($"Decoding:Sectors:{i}", s));
        using var provider = new ServiceCollection()
            .AddSmartCityPipeline(new ConfigurationBuilder().AddInMemoryCollection(settings).Build())
            .BuildServiceProvider();

        var options = provider.GetRequiredService<IOptions<DecodingOptions>>().Value;

        Assert.Equal(configured, options.EffectiveSectors);
        Assert.Equal(DecodingOptions.DefaultSectors, new DecodingOptions().EffectiveSectors);
    }
}

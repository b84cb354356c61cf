using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Pipeline;

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
}

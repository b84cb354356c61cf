using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Tests.Diagnostics;

public class SectionValidatorTests
{
    private static InfluxSinkOptions ValidInflux() => new() { Url = "http://127.0.0.1:8086", Token = "t", Org = "o", Bucket = "b" };

    [Fact]
    public void Validate_MissingHost_NamesTheSetting()
    {
        var result = new SectionValidator<MqttSourceOptions>("Mqtt").Validate(null, new MqttSourceOptions());

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.StartsWith("Mqtt:Host: is required", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_PortOutOfRangeAndBadClientId_ReportsBoth()
    {
        var result = new SectionValidator<MqttSourceOptions>("Mqtt").Validate(null, new MqttSourceOptions { Host = "h", Port = 0, ClientId = "a b" });

        Assert.Contains(result.Failures!, f => f.StartsWith("Mqtt:Port:", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.StartsWith("Mqtt:ClientId:", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_CrossFieldRule_NamesTheSetting()
    {
        var o = new MqttSourceOptions { Host = "h", ReconnectBaseDelay = TimeSpan.FromMinutes(5), ReconnectMaxDelay = TimeSpan.FromSeconds(1) };
        var result = new SectionValidator<MqttSourceOptions>("Mqtt").Validate(null, o);

        Assert.Contains(result.Failures!, f => f.StartsWith("Mqtt:ReconnectBaseDelay: must not be greater", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("not a url", "Influx:Url")]
    [InlineData("ftp://example.org", "Influx:Url")]
    public void Validate_BadInfluxUrl_NamesTheSetting(string url, string key)
    {
        var o = ValidInflux();
        o.Url = url;
        var result = new SectionValidator<InfluxSinkOptions>("Influx").Validate(null, o);

        Assert.Contains(result.Failures!, f => f.StartsWith(key, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_CompleteInfluxOptions_Succeeds()
    {
        Assert.True(new SectionValidator<InfluxSinkOptions>("Influx").Validate(null, ValidInflux()).Succeeded);
    }
}

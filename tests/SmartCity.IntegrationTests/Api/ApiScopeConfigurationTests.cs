using Microsoft.Extensions.Configuration;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests.Api;

/// <summary>City and district scopes of API keys, and the partition settings, are checked with the other settings at start.</summary>
public sealed class ApiScopeConfigurationTests
{
    private static Dictionary<string, string?> ValidSettings() => new()
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Mqtt:Host"] = "127.0.0.1",
        ["Influx:Url"] = "http://127.0.0.1:1",
        ["Influx:Token"] = "token",
        ["Api:Keys:0:Name"] = "anna.operator",
        ["Api:Keys:0:Role"] = "operator",
        ["Api:Keys:0:Key"] = "a-good-long-api-key-123456",
    };

    [Theory]
    [InlineData("Api:Keys:0:Districts:0", "d01", "Api:Keys:0:Districts: narrow a city: set City too")]
    [InlineData("Api:Keys:0:City", "lyon city", "Api:Keys:0:City: must be a city id")]
    [InlineData("Partitions:Worker", "w1", "Partitions: Map and Worker are set together")]
    [InlineData("Partitions:Map", "/nonexistent/partitions.json", "Partitions: /nonexistent/partitions.json cannot be read")]
    public void ValidateAll_BadScopeOrPartitionSetting_NamesIt(string key, string value, string expected)
    {
        var settings = ValidSettings();
        settings[key] = value;
        if (key == "Partitions:Map")
        {
            settings["Partitions:Worker"] = "w1";
        }

        using var app = WorkerHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));

        Assert.Contains(ConfigurationCheck.ValidateAll(app.Services), f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateAll_KeyScopedToCityAndDistricts_Accepted()
    {
        var settings = ValidSettings();
        settings["Api:Keys:0:City"] = "lyon";
        settings["Api:Keys:0:Districts:0"] = "d01";
        using var app = WorkerHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));

        Assert.Empty(ConfigurationCheck.ValidateAll(app.Services));
    }
}

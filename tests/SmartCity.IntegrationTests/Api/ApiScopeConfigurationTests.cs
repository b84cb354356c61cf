using Microsoft.Extensions.Configuration;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests.Api;

/// <summary>City and district scopes of API keys, and the partition settings, are checked with the other settings at start.</summary>
public sealed class ApiScopeConfigurationTests
{
    [Theory]
    [InlineData("Api:Keys:0:Districts:0", "d01", "Api:Keys:0:Districts: narrow a city: set City too")]
    [InlineData("Api:Keys:0:City", "lyon city", "Api:Keys:0:City: must be a city id")]
    [InlineData("Partitions:Worker", "w1", "Partitions: Map and Worker are set together")]
    [InlineData("Partitions:Map", "/nonexistent/partitions.json", "Partitions: /nonexistent/partitions.json cannot be read")]
    public void ValidateAll_BadScopeOrPartitionSetting_NamesIt(string key, string value, string expected)
    {
        var settings = ApiConfigurationTests.ValidSettings();
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
        var settings = ApiConfigurationTests.ValidSettings();
        settings["Api:Keys:0:City"] = "lyon";
        settings["Api:Keys:0:Districts:0"] = "d01";
        using var app = WorkerHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));

        Assert.Empty(ConfigurationCheck.ValidateAll(app.Services));
    }
}

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker;

namespace SmartCity.IntegrationTests.Api;

/// <summary>Bad API keys, limits, origins and secret files stop start-up with the setting named.</summary>
public sealed class ApiConfigurationTests
{
    private const string GoodKey = "a-good-long-api-key-123456";

    internal static Dictionary<string, string?> ValidSettings() => new()
    {
        ["Urls"] = "http://127.0.0.1:0",
        ["Mqtt:Host"] = "127.0.0.1",
        ["Influx:Url"] = "http://127.0.0.1:1",
        ["Influx:Token"] = "token",
        ["Api:Keys:0:Name"] = "anna.operator",
        ["Api:Keys:0:Role"] = "operator",
        ["Api:Keys:0:Key"] = GoodKey,
    };

    [Theory]
    [InlineData("Api:Keys:0:Role", "root", "Api:Keys:0:Role: must be viewer, operator or admin")]
    [InlineData("Api:Keys:0:Name", "anna operator", "Api:Keys:0:Name: must be")]
    [InlineData("Api:Keys:0:Name", null, "Api:Keys:0:Name: is required")]
    [InlineData("Api:Keys:0:Key", "short", "Api:Keys:0:Key: is too short")]
    [InlineData("Api:Keys:0:Key", null, "Api:Keys:0:Key: set exactly one of")]
    [InlineData("Api:Keys:0:KeyHash", "abc", "Api:Keys:0:Key: set exactly one of")]
    [InlineData("Api:Keys:1:Name", "ANNA.operator", "Api:Keys:1:Name: 'ANNA.operator' is used by another key")]
    [InlineData("Api:RateLimit:PermitLimit", "0", "Api:RateLimit:PermitLimit:")]
    [InlineData("Api:RateLimit:Window", "00:00:00", "Api:RateLimit:Window:")]
    [InlineData("Api:Cors:AllowedOrigins:0", "https://ops.example.org/app", "Api:Cors:AllowedOrigins:0: must be an origin")]
    [InlineData("Api:Cors:AllowedOrigins:0", "*", "Api:Cors:AllowedOrigins:0: must be an origin")]
    [InlineData("Mqtt:PasswordFile", "/nonexistent/mqtt-password", "Mqtt:PasswordFile: cannot read the file '/nonexistent/mqtt-password'")]
    [InlineData("Influx:TokenFile", "/nonexistent/token", "Influx:TokenFile: Influx:Token is set as well")]
    [InlineData("SECRETS_DIR", "/nonexistent/secrets", "SMARTCITY_SECRETS_DIR: folder '/nonexistent/secrets' does not exist")]
    public async Task Start_BadApiOrSecretSetting_FailsNamingIt(string key, string? value, string expected)
    {
        var settings = ValidSettings();
        settings[key] = value;
        if (key.StartsWith("Api:Keys:1:", StringComparison.Ordinal))
        {
            settings["Api:Keys:1:Role"] = "viewer";
            settings["Api:Keys:1:Key"] = GoodKey + "-other";
        }

        await using var app = WorkerHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());

        Assert.Contains(ex.Failures, f => f.StartsWith(expected, StringComparison.Ordinal));
        Assert.Equal(ex.Failures, ConfigurationCheck.ValidateAll(app.Services));
    }

    [Fact]
    public async Task KeyHash_InsteadOfKey_Accepted()
    {
        var settings = ValidSettings();
        settings.Remove("Api:Keys:0:Key");
        settings["Api:Keys:0:KeyHash"] = Infrastructure.TestApiKeys.Sha256Hex(GoodKey).ToUpperInvariant();
        await using var app = WorkerHost.Build([], b => b.Configuration.AddInMemoryCollection(settings));

        Assert.Empty(ConfigurationCheck.ValidateAll(app.Services));
        Assert.Equal(("anna.operator", "operator"), app.Services.GetRequiredService<SmartCity.Worker.Security.ApiKeyStore>().Match(GoodKey));
        Assert.Null(app.Services.GetRequiredService<SmartCity.Worker.Security.ApiKeyStore>().Match(GoodKey + "x"));
    }
}

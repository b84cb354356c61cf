using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>The options as the worker's composition root binds them, from configuration keys.</summary>
public class MqttSourceOptionsBindingTests
{
    private static MqttSourceOptions Bind(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        using var provider = new ServiceCollection().AddSmartCityPipeline(configuration).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<MqttSourceOptions>>().Value;
    }

    [Fact]
    public void Bind_ConfiguredSubscription_ReplacesTheDefault()
    {
        var options = Bind(("Mqtt:Host", "h"), ("Mqtt:Subscriptions:0", "$share/g/city/#"));

        Assert.Equal(["$share/g/city/#"], options.Subscriptions);
    }

    [Fact]
    public void Bind_TwoConfiguredSubscriptions_KeepsExactlyThose()
    {
        var options = Bind(("Mqtt:Host", "h"), ("Mqtt:Subscriptions:0", "city/lighting/#"), ("Mqtt:Subscriptions:1", "city/schools/#"));

        Assert.Equal(["city/lighting/#", "city/schools/#"], options.Subscriptions);
    }

    [Fact]
    public void Bind_NoSubscriptionConfigured_SubscribesToEveryDeviceMessage()
    {
        var options = Bind(("Mqtt:Host", "h"));

        Assert.Equal(["city/#"], options.Subscriptions);
    }

    /// <summary>The validation failures of binding <paramref name="settings"/> (the test fails if they validate).</summary>
    private static IEnumerable<string> Failures(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
        using var provider = new ServiceCollection().AddSmartCityPipeline(configuration).BuildServiceProvider();

        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<MqttSourceOptions>>().Value).Failures;
    }

    [Fact]
    public void Bind_EmptySubscription_FailsValidationNamingTheKey()
    {
        var failures = Failures(("Mqtt:Host", "h"), ("Mqtt:Subscriptions:0", " "));

        Assert.Contains(failures, f => f.StartsWith("Mqtt:Subscriptions:0: must not be empty", StringComparison.Ordinal));
    }

    [Fact]
    public void Bind_MaxReceiveBacklogZero_FailsValidationNamingTheKey()
    {
        var failures = Failures(("Mqtt:Host", "h"), ("Mqtt:MaxReceiveBacklog", "0"));

        Assert.Contains(failures, f => f.StartsWith("Mqtt:MaxReceiveBacklog", StringComparison.Ordinal));
    }
}

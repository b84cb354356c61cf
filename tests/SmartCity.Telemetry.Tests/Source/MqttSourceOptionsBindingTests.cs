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

    [Fact]
    public void Bind_EmptySubscription_FailsValidationNamingTheKey()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection([new("Mqtt:Host", "h"), new("Mqtt:Subscriptions:0", " ")])
            .Build();
        using var provider = new ServiceCollection().AddSmartCityPipeline(configuration).BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IOptions<MqttSourceOptions>>().Value);
        Assert.Contains(error.Failures, f => f.StartsWith("Mqtt:Subscriptions:0: must not be empty", StringComparison.Ordinal));
    }
}

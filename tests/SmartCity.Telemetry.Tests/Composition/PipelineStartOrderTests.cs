using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Source;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Tests.Composition;

public sealed class PipelineStartOrderTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-order-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task AddSmartCityPipeline_HostedServices_RegisteredInTheStatedOrder()
    {
        await using var provider = Build();

        var hosted = provider.GetServices<IHostedService>().Select(s => s.GetType()).ToList();

        // The host starts hosted services in registration order and stops them in reverse.
        Assert.Equal(PipelineStartOrder.HostedServices, hosted);
    }

    [Fact]
    public void StartOrder_SpoolBeforeSinkBeforeSource_SoTheSourceStopsFirstAndTheSinkDrainsTheSpool()
    {
        var order = PipelineStartOrder.HostedServices.ToList();

        Assert.True(order.IndexOf(typeof(DurableSpool)) < order.IndexOf(typeof(InfluxSink)));
        Assert.True(order.IndexOf(typeof(InfluxSink)) < order.IndexOf(typeof(MqttSource)));
    }

    [Fact]
    public async Task AddSmartCityPipeline_StageResolvedByType_IsTheHostedInstance()
    {
        await using var provider = Build();

        var hosted = provider.GetServices<IHostedService>().ToList();

        Assert.Contains(provider.GetRequiredService<MqttSource>(), hosted);
        Assert.Contains(provider.GetRequiredService<DurableSpool>(), hosted);
    }

    private ServiceProvider Build() => Build(_dir);

    /// <summary>The whole pipeline's services with a valid minimal configuration, files under <paramref name="dir"/>; <paramref name="extra"/> settings win.</summary>
    internal static ServiceProvider Build(string dir, IDictionary<string, string?>? extra = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Mqtt:Host"] = "broker.test",
            ["Influx:Url"] = "http://influx.test",
            ["Influx:Token"] = "t",
            ["Influx:Org"] = "o",
            ["Influx:Bucket"] = "b",
            ["Spool:Directory"] = Path.Combine(dir, "spool"),
            ["Registry:File"] = Path.Combine(dir, "registry.json"),
            ["Alerting:StateFile"] = Path.Combine(dir, "alerts.json"),
            ["Lighting:StateFile"] = Path.Combine(dir, "lighting.json"),
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddSmartCityPipeline(configuration).BuildServiceProvider();
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}

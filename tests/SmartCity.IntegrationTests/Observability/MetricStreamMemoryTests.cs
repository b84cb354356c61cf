using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker.Observability;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Observability;

/// <summary>
/// What the exported metrics keep in memory per instrument. The OpenTelemetry SDK allocates a metric stream's
/// points when the instrument is published, sized by the cardinality limit: at its default (2,000) one array
/// of 144 KB per instrument, on the large-object heap for the worker's life (70 instruments held 10 MB).
/// Measured on the publishing thread (the SDK makes the stream there), so other tests do not count.
/// </summary>
public sealed class MetricStreamMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void PipelineMetrics_PublishedToTheWorkersMeterProvider_AllocateNoLargeObjectHeapArrayPerInstrument()
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["OpenTelemetry:Prometheus:Enabled"] = "true" });
        builder.AddWorkerObservability();
        using var app = builder.Build();
        // The provider starts listening when it is built; resolved here, before the measured window.
        Assert.NotNull(app.Services.GetRequiredService<MeterProvider>());
        var factory = app.Services.GetRequiredService<IMeterFactory>();
        var published = 0;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) => published += ReferenceEquals(instrument.Meter.Scope, factory) ? 1 : 0,
        };
        listener.Start();

        var before = GC.GetAllocatedBytesForCurrentThread();
        var metrics = new PipelineMetrics(factory);
        var bytes = GC.GetAllocatedBytesForCurrentThread() - before;

        GC.KeepAlive(metrics);
        Assert.True(published >= 10, $"only {published} instruments of the pipeline were published");
        var perInstrument = bytes / published;
        output.WriteLine($"FIGURES pipeline instruments {published}, allocated {bytes:N0} B, {perInstrument:N0} B per instrument");
        // Below the LOH threshold (85,000 B) with room: 2,000 points per stream were about 180 KB per instrument.
        Assert.True(perInstrument < 60_000, $"{perInstrument:N0} B allocated per instrument published ({published} instruments, {bytes:N0} B)");
    }
}

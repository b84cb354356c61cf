using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Worker.Security;

namespace SmartCity.Worker.Observability;

/// <summary>
/// OpenTelemetry for the worker: the <c>SmartCity.*</c> meters, .NET runtime and ASP.NET Core metrics on a
/// Prometheus scrape endpoint and/or OTLP; the pipeline's batch traces (<see cref="PipelineTracing"/>) and
/// the HTTP server spans over OTLP. Nothing is registered that nobody reads: without an OTLP endpoint
/// there is no tracer provider (so no spans are made), and with Prometheus off as well no meter provider.
/// </summary>
public static class WorkerObservability
{
    /// <summary>The meters exported: every meter of the pipeline, the disk health and the alert notifiers.</summary>
    public const string MeterPattern = "SmartCity.*";

    /// <summary>
    /// Most tag combinations kept per exported instrument. The SDK's default, 2,000, allocates each metric stream's
    /// points up front as one 144 KB array on the large-object heap, for ever: the worker's 70 instruments (its own,
    /// runtime, ASP.NET Core) held 10 MB of it whatever the load (docs/performance.md, "the worker's LOH"). 500 is
    /// 36 KB each, and still ten times what the busiest instrument can have (HTTP duration by route, method and status;
    /// the pipeline's are by stage, reason or class); a stream past it adds to an overflow point instead of failing.
    /// </summary>
    public const int MetricStreamCardinalityLimit = 500;

    /// <summary>
    /// Reads <c>OpenTelemetry:*</c> now, so call it after every configuration source is in: whether an
    /// exporter exists is decided when the services are registered, not later.
    /// </summary>
    public static WebApplicationBuilder AddWorkerObservability(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(ObservabilityOptions.SectionName);
        builder.Services.AddOptions<ObservabilityOptions>().Bind(section);
        builder.Services.AddSingleton<IValidateOptions<ObservabilityOptions>>(new SectionValidator<ObservabilityOptions>(ObservabilityOptions.SectionName));
        builder.Services.AddSingleton(ConfigurationCheck.For<ObservabilityOptions>());

        // An invalid section registers nothing: the configuration check above reports it and the worker exits 78.
        if (!TryRead(section, out var options))
        {
            return builder;
        }

        var otlp = options.Otlp.Endpoint is not null || !string.IsNullOrWhiteSpace(builder.Configuration[ObservabilityOptions.StandardEndpointVariable]);
        if (!otlp && !options.Prometheus.Enabled)
        {
            return builder;
        }

        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(options.ServiceName))
            .WithMetrics(m =>
            {
                m.AddMeter(MeterPattern).AddRuntimeInstrumentation().AddAspNetCoreInstrumentation()
                    .AddView(static _ => new MetricStreamConfiguration { CardinalityLimit = MetricStreamCardinalityLimit });
                if (options.Prometheus.Enabled)
                {
                    m.AddPrometheusExporter(p => p.ScrapeEndpointPath = options.Prometheus.Path);
                }

                if (otlp)
                {
                    m.AddOtlpExporter((exporter, reader) =>
                    {
                        Configure(exporter, options.Otlp, "v1/metrics");
                        if (options.Otlp.ExportInterval is { } interval)
                        {
                            reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = (int)interval.TotalMilliseconds;
                        }
                    });
                }
            });

        if (otlp && options.Otlp.Traces)
        {
            telemetry.WithTracing(t => t
                .AddSource(PipelineTracing.SourceName)
                // Probes and scrapes every few seconds would bury the requests an operator made.
                .AddAspNetCoreInstrumentation(a => a.Filter = http => !IsProbeOrScrape(http.Request.Path, options.Prometheus.Path))
                .AddOtlpExporter(exporter => Configure(exporter, options.Otlp, "v1/traces")));
        }

        return builder;
    }

    /// <summary>The scrape endpoint, for API keys with the viewer role (see docs/operations.md: the counters name devices' rejection reasons and the host's figures).</summary>
    public static WebApplication MapObservabilityEndpoints(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ObservabilityOptions>>();
        if (TryValue(options, out var value) && value.Prometheus.Enabled)
        {
            app.MapPrometheusScrapingEndpoint(value.Prometheus.Path).RequireAuthorization(ApiRoles.Viewer);
        }

        return app;
    }

    /// <summary>
    /// The configured endpoint, if any (else the SDK reads OTEL_EXPORTER_OTLP_* itself). An http/protobuf
    /// endpoint set in code is used as is by the SDK, so the signal's path is appended here, as the SDK
    /// does for the environment variable.
    /// </summary>
    private static void Configure(OtlpExporterOptions exporter, OtlpExportOptions options, string signalPath)
    {
        if (options.Endpoint is { } endpoint)
        {
            exporter.Protocol = options.Protocol == OtlpWireProtocol.Grpc ? OtlpExportProtocol.Grpc : OtlpExportProtocol.HttpProtobuf;
            exporter.Endpoint = options.Protocol == OtlpWireProtocol.Grpc
                ? endpoint
                : new Uri(new Uri(endpoint.AbsoluteUri.TrimEnd('/') + "/"), signalPath);
        }

        if (!string.IsNullOrWhiteSpace(options.Headers))
        {
            exporter.Headers = options.Headers;
        }
    }

    private static bool IsProbeOrScrape(PathString path, string scrapePath) =>
        path.StartsWithSegments("/health") || path.StartsWithSegments("/healthz") || path.StartsWithSegments(scrapePath);

    private static bool TryRead(IConfigurationSection section, out ObservabilityOptions options)
    {
        try
        {
            options = section.Get<ObservabilityOptions>() ?? new ObservabilityOptions();
        }
        catch (InvalidOperationException)
        {
            options = new ObservabilityOptions();
            return false;
        }

        return new SectionValidator<ObservabilityOptions>(ObservabilityOptions.SectionName).Validate(null, options).Succeeded;
    }

    private static bool TryValue(IOptions<ObservabilityOptions> options, out ObservabilityOptions value)
    {
        try
        {
            value = options.Value;
            return true;
        }
        catch (Exception ex) when (ex is OptionsValidationException or InvalidOperationException)
        {
            value = new ObservabilityOptions();
            return false;
        }
    }
}

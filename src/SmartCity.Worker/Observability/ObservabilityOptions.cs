using System.ComponentModel.DataAnnotations;

namespace SmartCity.Worker.Observability;

/// <summary>
/// OpenTelemetry export of the worker's metrics and traces (section <c>OpenTelemetry</c>): a Prometheus
/// scrape endpoint on the operator port, and OTLP to a collector when an endpoint is set. See docs/operations.md.
/// </summary>
public sealed class ObservabilityOptions : IValidatableObject
{
    public const string SectionName = "OpenTelemetry";

    /// <summary>The standard variable an OTLP endpoint may come from instead (the SDK then also reads OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS...).</summary>
    public const string StandardEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary><c>service.name</c> of the resource: what the collector, Prometheus' target_info and Grafana call this worker.</summary>
    /// <value>The default value is <c>smartcity-worker</c>.</value>
    public string ServiceName { get; set; } = "smartcity-worker";

    public PrometheusEndpointOptions Prometheus { get; set; } = new();

    public OtlpExportOptions Otlp { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(ServiceName))
        {
            yield return new ValidationResult("must not be empty", [nameof(ServiceName)]);
        }

        if (!Prometheus.Path.StartsWith('/') || Prometheus.Path.Length < 2 || Prometheus.Path.Any(c => c is '?' or '#' || char.IsWhiteSpace(c)))
        {
            yield return new ValidationResult("must be a path such as /metrics (starting with '/', no query)", ["Prometheus:Path"]);
        }

        if (Otlp.Endpoint is { } endpoint && !(endpoint.IsAbsoluteUri && endpoint.Scheme is "http" or "https"))
        {
            yield return new ValidationResult("must be an absolute http:// or https:// URL such as http://otel-collector:4318", ["Otlp:Endpoint"]);
        }

        if (Otlp.ExportInterval is { } interval && (interval < TimeSpan.FromSeconds(1) || interval > TimeSpan.FromHours(1)))
        {
            yield return new ValidationResult("must be between 00:00:01 and 01:00:00", ["Otlp:ExportInterval"]);
        }
    }
}

/// <summary>The Prometheus scrape endpoint.</summary>
public sealed class PrometheusEndpointOptions
{
    /// <summary>Serve the metrics in the Prometheus text format on the operator port (API key with the viewer role).</summary>
    /// <value>The default value is true.</value>
    public bool Enabled { get; set; } = true;

    /// <value>The default value is <c>/metrics</c>.</value>
    public string Path { get; set; } = "/metrics";
}

/// <summary>OTLP export to a collector (OpenTelemetry Collector, Grafana Alloy, Tempo/Mimir...).</summary>
public sealed class OtlpExportOptions
{
    /// <summary>
    /// The collector's base URL (<c>http://collector:4318</c> for http/protobuf: the worker appends
    /// <c>/v1/metrics</c> and <c>/v1/traces</c>; <c>http://collector:4317</c> for grpc, as is).
    /// </summary>
    /// <value>The default value is none: OTLP is off unless OTEL_EXPORTER_OTLP_ENDPOINT is set.</value>
    public Uri? Endpoint { get; set; }

    /// <value>The default value is <see cref="OtlpWireProtocol.HttpProtobuf"/>.</value>
    public OtlpWireProtocol Protocol { get; set; } = OtlpWireProtocol.HttpProtobuf;

    /// <summary>Headers for the collector, <c>key=value,key2=value2</c> (an API token: from the environment, SMARTCITY_OpenTelemetry__Otlp__Headers, not appsettings).</summary>
    public string? Headers { get; set; }

    /// <summary>How often metrics are pushed.</summary>
    /// <value>The default value is none: the SDK's (60 s, or OTEL_METRIC_EXPORT_INTERVAL).</value>
    public TimeSpan? ExportInterval { get; set; }

    /// <summary>Export the pipeline's batch traces and the HTTP server spans too (metrics are always exported).</summary>
    /// <value>The default value is true.</value>
    public bool Traces { get; set; } = true;
}

public enum OtlpWireProtocol
{
    HttpProtobuf,
    Grpc,
}

using System.Diagnostics;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// The pipeline's traces: one per batch that the sink writes, from the receipt of its oldest message
/// (decoded and spooled) to the write that stored it. Spans are made only while a listener (an
/// OpenTelemetry tracer provider) is attached, so a worker without a trace exporter pays nothing.
/// </summary>
public static class PipelineTracing
{
    /// <summary>The <see cref="ActivitySource"/> name, for <c>AddSource</c>.</summary>
    public const string SourceName = "SmartCity.Pipeline";

    internal static readonly ActivitySource Source = new(SourceName);
}

using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>
/// The sink as a pipeline stage. Its counters are fed where the sink already reports to
/// <see cref="PipelineMetrics"/> (written, write failed, refused by the database).
/// </summary>
public sealed partial class InfluxSink : IStage
{
    public StageCounters Counters => _metrics.InfluxStage;
}

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Composition;

public sealed class PipelineReportOptions
{
    public const string SectionName = "PipelineReport";

    /// <summary>How often the worker writes its own counters to the <c>pipeline_stats</c> measurement (Grafana's pipeline health); zero = never.</summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Writes the pipeline's counters to InfluxDB through the spool, so technicians see the pipeline's
/// health in Grafana beside the data it carries (rates come from derivatives of the counters).
/// </summary>
public sealed class PipelineReporter(
    IOptions<PipelineReportOptions> options,
    IOptions<MqttSourceOptions> mqtt,
    PipelineMetrics metrics,
    DeviceRegistry registry,
    DurableSpool spool,
    TimeProvider time) : BackgroundService
{
    public const string Measurement = "pipeline_stats";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.Interval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!await spool.AppendAsync(new BufferedMessage(LineProtocol.Format(Snapshot()), false, null, IsInternal: true), stoppingToken).ConfigureAwait(false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The counters as one point, tagged with the worker's client id.</summary>
    public Point Snapshot()
    {
        var s = metrics.Snapshot();
        var point = new Point(Measurement, DateTimeOffset.FromUnixTimeMilliseconds(time.GetUtcNow().ToUnixTimeMilliseconds()))
            .Tag("worker", mqtt.Value.ClientId)
            .Field("received", s.Received)
            .Field("accepted", s.Accepted)
            .Field("rejected", s.Rejected)
            .Field("ignored", s.Ignored)
            .Field("points_written", s.PointsWritten)
            .Field("dead_letters", s.DeadLettersWritten)
            .Field("refused_by_database", s.LinesDroppedByDatabase)
            .Field("acknowledged", s.Acknowledged)
            .Field("write_failures", s.WriteFailures)
            .Field("write_latency_ms", s.LastWriteMilliseconds)
            .Field("reconnects", s.Reconnects)
            .Field("watchdog_resubscribes", s.WatchdogResubscribes)
            .Field("spool_depth", s.SpoolDepth)
            .Field("spool_bytes", s.SpoolBytes)
            .Field("spool_oldest_age_s", s.SpoolOldestAgeSeconds)
            .Field("spool_full", s.SpoolFull)
            .Field("spool_expired", s.SpoolExpired)
            .Field("source_connected", s.SourceConnected)
            .Field("sink_blocked", s.SinkBlocked)
            .Field("devices_registered", (long)registry.Count)
            .Field("devices_online", (long)registry.CountOnline())
            .Field("devices_quarantined", (long)registry.QuarantinedCount);
        return point;
    }
}

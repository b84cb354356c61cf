using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Lighting;

/// <summary>The service's two loops: the tick (timeouts, schedules, re-sends, energy, saving) and the output (InfluxDB, alerts).</summary>
public sealed partial class LightingService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var output = WriteOutputsAsync(stoppingToken);
        using var timer = new PeriodicTimer(_options.TickInterval, _time);
        try
        {
            do
            {
                try
                {
                    await TickAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogTickFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _outputs.Writer.TryComplete();
            await output.ConfigureAwait(false);
            lock (_gate)
            {
                // Only what changed: a worker that never commanded or metered a lamp leaves no state file behind.
                if (_dirty || _energyDirty)
                {
                    SaveLocked();
                }
            }
        }
    }

    /// <summary>One round of periodic work; the first one runs at start, so a step due during a restart is sent at once.</summary>
    internal async Task TickAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            foreach (var late in _state.Pending.Values.Where(c => c.DueBy <= now).ToList())
            {
                _state.Pending.Remove(late.DeviceId);
                Conclude(late, CommandStatus.TimedOut, now, $"no acknowledgement or telemetry at the level within {_options.ConfirmTimeout}");
            }
        }

        await RunSchedulesAsync(cancellationToken).ConfigureAwait(false);
        await ResendAsync(cancellationToken).ConfigureAwait(false);
        await EndDurationsAsync(now, cancellationToken).ConfigureAwait(false);
        FlushEnergy();
        SaveIfDue();
    }

    private async Task WriteOutputsAsync(CancellationToken stoppingToken)
    {
        await foreach (var item in _outputs.Reader.ReadAllAsync(CancellationToken.None).ConfigureAwait(false))
        {
            try
            {
                if (item.Point is { } point)
                {
                    await AppendAsync(point, stoppingToken).ConfigureAwait(false);
                }

                if (item.Command is not { } c)
                {
                    continue;
                }

                await AppendAsync(ToPoint(c), stoppingToken).ConfigureAwait(false);
                if (item.Alert is { } alertEvent)
                {
                    var identity = new DeviceIdentity(c.DeviceId, c.Sector, c.District, c.Site, c.DeviceType);
                    var detail = $"{c.CommandId} ({(c.On ? $"on {c.DimPct} %" : "off")}, by {c.By}): {c.Detail}";
                    await _alerting.ReportEventAsync(identity, c.Profile, alertEvent, detail, c.OutcomeAt ?? _time.GetUtcNow(), stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task AppendAsync(Point point, CancellationToken cancellationToken) =>
        await _spool.AppendAsync(new BufferedMessage(LineProtocol.Format(point), false, null, IsInternal: true), cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// One lamp's command as a point stamped with the time it was sent: its outcome is written at
    /// the same time and tags, so InfluxDB keeps one row per lamp and command with the latest status.
    /// </summary>
    public static Point ToPoint(LampCommand c)
    {
        ArgumentNullException.ThrowIfNull(c);
        var point = new Point(CommandMeasurement, c.SentAt)
            .Tag("sector", c.Sector).Tag("district", c.District).Tag("site", c.Site).Tag("device_id", c.DeviceId)
            .Field("command_id", c.CommandId)
            .Field("status", StatusName(c.Status))
            .Field("on", c.On)
            .Field("dim_pct", c.DimPct)
            .Field("by", c.By)
            .Field("reason", c.Reason);
        if (c.OutcomeAt is { } at)
        {
            point.Field("latency_s", (at - c.SentAt).TotalSeconds);
        }

        if (c.Detail is { } detail)
        {
            point.Field("detail", detail);
        }

        return point;
    }

    /// <summary>The status as the API and the history spell it (<c>timed_out</c>).</summary>
    public static string StatusName(CommandStatus status) => status == CommandStatus.TimedOut ? "timed_out" : status.ToString().ToLowerInvariant();

    [LoggerMessage(EventId = 9005, Level = LogLevel.Error, Message = "Lighting tick failed; the next one tries again")]
    private partial void LogTickFailed(Exception ex);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Information, Message = "Lighting schedule {ScheduleId}: on={On} at {DimPct} % ({Reason}), sent to {Sent} lamps {Refusal}")]
    private partial void LogScheduleStep(string scheduleId, bool on, double dimPct, string reason, int sent, string refusal);
}

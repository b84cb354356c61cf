using Microsoft.Extensions.Options;
using System.Text.Json;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Worker.Talq;

/// <summary>
/// Keeps each gateway with an "api" entry current, every <see cref="TalqGatewayOptions.SyncInterval"/>: the logger
/// configuration our CMS needs, the schedules of its lamps (and of its district) as TALQ control programs and
/// calendars, and each of its lamps assigned its schedule's calendar (/assign-commands), in that order, since a
/// gateway refuses a calendar naming unknown programs and an assignment naming an unknown calendar. A lamp
/// announced later is assigned at the next round. The gateway then runs the lamp's schedule itself: the worker's
/// schedule engine leaves such lamps alone (<see cref="TalqCommandChannel.SchedulesItself"/>).
/// What a gateway took is remembered in memory, so a restart sends everything again (the schedules file is read
/// at start: a changed file reaches the gateways then). An unreachable gateway or a 5xx is tried again next round;
/// another refusal is logged with the gateway's answer and not repeated until what we would send changes.
/// </summary>
public sealed partial class TalqGatewaySync(
    TalqGatewayMap map, TalqGatewayClients clients, TalqDeviceOwners owners, DeviceRegistry registry, LightingService lighting, IOptions<TalqGatewayOptions> options, TimeProvider time, ILogger<TalqGatewaySync> logger)
    : BackgroundService
{
    /// <summary>How often the gateway samples what it reports; the streetlight profile expects a message every 5 minutes.</summary>
    public static readonly TimeSpan SamplingPeriod = TimeSpan.FromMinutes(5);

    public const string LoggerAddress = "smartcity-lamps";

    /// <summary>Addresses per AssignCommand: a gateway of thousands of lamps gets several moderate requests.</summary>
    public const int AssignBatch = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var gateways = map.Gateways.Where(g => g.Api is not null).Select(g => new GatewayProgress(g)).ToList();
        if (gateways.Count == 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.Value.SyncInterval, time);
        try
        {
            do
            {
                foreach (var gateway in gateways)
                {
                    await SyncOneAsync(gateway, stoppingToken).ConfigureAwait(false);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task SyncOneAsync(GatewayProgress progress, CancellationToken cancellationToken)
    {
        var gateway = progress.Gateway;
        try
        {
            await SyncAsync(progress, clients.For(gateway), cancellationToken).ConfigureAwait(false);
            if (progress.Unreachable)
            {
                progress.Unreachable = false;
                LogReachable(gateway.Username);
            }
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Said once per outage, not every round.
            if (!progress.Unreachable)
            {
                progress.Unreachable = true;
                LogUnreachable(gateway.Username, ex.Message);
            }
        }
    }

    private async Task SyncAsync(GatewayProgress progress, TalqGatewayClient client, CancellationToken cancellationToken)
    {
        var gateway = progress.Gateway;
        if (!progress.LoggerSettled)
        {
            var reply = await client.ConfigureLoggerAsync(TalqGatewayRequests.LoggerConfig(LoggerAddress, client.OwnerCms, time.GetUtcNow(), SamplingPeriod), cancellationToken).ConfigureAwait(false);
            progress.LoggerSettled = Settled(gateway, "logger configuration", reply);
        }

        // The gateway's lamps (its devices registered with the street-light profile: a photocell is registered too,
        // under its own profile, and follows no calendar) and the schedule each one follows (its site's, else its
        // district's), as the lighting service finds it.
        var lamps = owners.ByDevice.Where(p => p.Value == gateway.Address)
            .Select(p => (Lamp: p.Key, Record: registry.Find(TalqIngress.DeviceId(p.Key))))
            .Where(l => l.Record?.Profile == TalqProfiles.Streetlight)
            .Select(l => (l.Lamp, Schedule: lighting.ScheduleOf(l.Record!.District, l.Record.Site)))
            .ToList();
        var schedules = lighting.Schedules.Where(s => s.District == gateway.District && s.Site is null)
            .Concat(lamps.Select(l => l.Schedule).OfType<LightingSchedule>())
            .DistinctBy(s => s.Id);
        foreach (var schedule in schedules)
        {
            await SendScheduleAsync(progress, client, schedule, cancellationToken).ConfigureAwait(false);
        }

        await AssignAsync(progress, client, lamps.Select(l => (l.Lamp, l.Schedule?.Id)).ToList(), cancellationToken).ConfigureAwait(false);
    }

    private async Task SendScheduleAsync(GatewayProgress progress, TalqGatewayClient client, LightingSchedule schedule, CancellationToken cancellationToken)
    {
        var fingerprint = JsonSerializer.Serialize(new object[] { TalqGatewayRequests.ControlPrograms(schedule, client.OwnerCms), TalqGatewayRequests.Calendar(schedule, client.OwnerCms) });
        if (progress.Calendars.TryGetValue(schedule.Id, out var sent) && sent.Fingerprint == fingerprint)
        {
            return;
        }

        var replies = await client.SendScheduleAsync(schedule, cancellationToken).ConfigureAwait(false);
        if (replies.Any(r => r.Retryable))
        {
            LogRetry(progress.Gateway.Username, $"calendar {schedule.Id}", replies.First(r => r.Retryable).Status);
            return;
        }

        foreach (var reply in replies)
        {
            Settled(progress.Gateway, $"calendar {schedule.Id}", reply);
        }

        // A refused program or calendar is not sent again until the schedule changes, and no lamp is assigned to it.
        progress.Calendars[schedule.Id] = (fingerprint, replies.All(r => r.Accepted));
    }

    /// <summary>Lamps whose calendar (or its absence) is not yet the gateway's, per calendar, once that calendar is on the gateway.</summary>
    private async Task AssignAsync(GatewayProgress progress, TalqGatewayClient client, List<(Guid Lamp, string? Calendar)> lamps, CancellationToken cancellationToken)
    {
        var due = lamps.Where(l => !progress.Assigned.TryGetValue(l.Lamp, out var assigned) || assigned != (l.Calendar ?? ""))
            .Where(l => l.Calendar is null || (progress.Calendars.TryGetValue(l.Calendar, out var c) && c.Accepted))
            .GroupBy(l => l.Calendar);
        foreach (var group in due)
        {
            foreach (var batch in group.Select(l => l.Lamp).Chunk(AssignBatch))
            {
                var what = group.Key is null ? "removal of calendars" : $"assignment of calendar {group.Key}";
                var reply = await client.AssignAsync(TalqGatewayRequests.Assign(batch, group.Key), cancellationToken).ConfigureAwait(false);
                if (!Settled(progress.Gateway, what, reply))
                {
                    continue;
                }

                foreach (var lamp in batch)
                {
                    progress.Assigned[lamp] = group.Key ?? "";
                }

                if (reply.Accepted)
                {
                    LogAssigned(progress.Gateway.Username, group.Key ?? "(none)", batch.Length, reply.Status);
                }
            }
        }
    }

    /// <summary>True when done with (accepted, or refused for good: logged); false when worth trying again next round.</summary>
    private bool Settled(TalqGateway gateway, string what, TalqReply reply)
    {
        if (reply.Retryable)
        {
            LogRetry(gateway.Username, what, reply.Status);
            return false;
        }

        if (!reply.Accepted)
        {
            LogRefused(gateway.Username, what, reply.Status, TalqError.Clip(reply.Body));
        }

        return true;
    }

    /// <summary>What one gateway has taken so far (by this worker's run).</summary>
    private sealed class GatewayProgress(TalqGateway gateway)
    {
        public TalqGateway Gateway { get; } = gateway;

        public bool LoggerSettled { get; set; }

        public bool Unreachable { get; set; }

        /// <summary>Schedule id -> what was sent (programs and calendar as JSON) and whether the gateway took all of it.</summary>
        public Dictionary<string, (string Fingerprint, bool Accepted)> Calendars { get; } = new(StringComparer.Ordinal);

        /// <summary>Lamp -> the calendar it was assigned ("" for none), accepted or refused for good.</summary>
        public Dictionary<Guid, string> Assigned { get; } = [];
    }

    [LoggerMessage(EventId = 2701, Level = LogLevel.Warning, Message = "TALQ gateway {Gateway} refused the {What} ({Status}): {Body}")]
    private partial void LogRefused(string gateway, string what, int status, string body);

    [LoggerMessage(EventId = 2702, Level = LogLevel.Warning, Message = "TALQ gateway {Gateway} is unreachable: {Error}; tried again every sync interval")]
    private partial void LogUnreachable(string gateway, string error);

    [LoggerMessage(EventId = 2703, Level = LogLevel.Information, Message = "TALQ gateway {Gateway} is reachable again")]
    private partial void LogReachable(string gateway);

    [LoggerMessage(EventId = 2704, Level = LogLevel.Information, Message = "TALQ gateway {Gateway}: calendar {Calendar} assigned to {Lamps} lamps ({Status})")]
    private partial void LogAssigned(string gateway, string calendar, int lamps, int status);

    [LoggerMessage(EventId = 2705, Level = LogLevel.Warning, Message = "TALQ gateway {Gateway} could not take the {What} now ({Status}); tried again next round")]
    private partial void LogRetry(string gateway, string what, int status);
}

using SmartCity.Telemetry.Lighting;

namespace SmartCity.Worker.Talq;

/// <summary>
/// At start, each gateway with an "api" entry gets the logger configuration our CMS needs and the
/// schedules of its district as TALQ control programs and calendars. A refusal or an unreachable gateway
/// is logged (with the gateway's answer) and does not stop the worker.
/// </summary>
public sealed partial class TalqGatewaySync(TalqGatewayMap map, TalqGatewayClients clients, LightingService lighting, TimeProvider time, ILogger<TalqGatewaySync> logger) : BackgroundService
{
    /// <summary>How often the gateway samples what it reports; the streetlight profile expects a message every 5 minutes.</summary>
    public static readonly TimeSpan SamplingPeriod = TimeSpan.FromMinutes(5);

    public const string LoggerAddress = "smartcity-lamps";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        foreach (var gateway in map.Gateways.Where(g => g.Api is not null))
        {
            var client = clients.For(gateway);
            try
            {
                var replies = new List<TalqReply>
                {
                    await client.ConfigureLoggerAsync(TalqGatewayRequests.LoggerConfig(LoggerAddress, client.OwnerCms, time.GetUtcNow(), SamplingPeriod), stoppingToken).ConfigureAwait(false),
                };
                foreach (var schedule in lighting.Schedules.Where(s => s.District == gateway.District))
                {
                    replies.AddRange(await client.SendScheduleAsync(schedule, stoppingToken).ConfigureAwait(false));
                }

                foreach (var refused in replies.Where(r => !r.Accepted))
                {
                    LogRefused(gateway.Username, refused.Status, TalqError.Clip(refused.Body));
                }
            }
            catch (HttpRequestException ex)
            {
                LogUnreachable(gateway.Username, ex.Message);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "TALQ gateway {Gateway} refused a request ({Status}): {Body}")]
    private partial void LogRefused(string gateway, int status, string body);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TALQ gateway {Gateway} is unreachable: {Error}")]
    private partial void LogUnreachable(string gateway, string error);
}

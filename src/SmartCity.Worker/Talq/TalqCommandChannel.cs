using SmartCity.Telemetry.Lighting;

namespace SmartCity.Worker.Talq;

/// <summary>
/// The lighting command transport when TALQ gateways are configured: a lamp announced by a gateway gets
/// its command as a TALQ override command through that gateway's API; every other lamp over MQTT.
/// Confirmation stays the lighting service's: the gateway's next log report with the level confirms it,
/// silence past Lighting:ConfirmTimeout raises command_not_followed.
/// </summary>
public sealed class TalqCommandChannel(MqttCommandChannel mqtt, TalqDeviceOwners owners, TalqGatewayMap map, TalqGatewayClients clients) : ICommandChannel
{
    /// <summary>A lamp of a gateway whose API we reach holds its schedule as that gateway's calendar (TalqGatewaySync).</summary>
    public bool SchedulesItself(string deviceId) =>
        Guid.TryParse(deviceId, out var device) && owners.OwnerOf(device) is { } owner && map.FindByAddress(owner)?.Api is not null;

    /// <summary>A TALQ lamp's level arrives with the gateway's periodic log report (the logger configuration we set).</summary>
    public TimeSpan ReportPeriod(string deviceId) => SchedulesItself(deviceId) ? TalqGatewaySync.SamplingPeriod : TimeSpan.Zero;

    public async Task SendAsync(LampCommand command, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(command.DeviceId, out var device) || owners.OwnerOf(device) is not { } owner)
        {
            await mqtt.SendAsync(command, cancellationToken).ConfigureAwait(false);
            return;
        }

        var gateway = map.FindByAddress(owner);
        if (gateway?.Api is null)
        {
            throw new InvalidOperationException($"lamp {command.DeviceId} belongs to TALQ gateway {owner}, whose 'api' is not configured in the mapping file");
        }

        var reply = await clients.For(gateway).SendOverrideAsync(TalqGatewayRequests.Override(command, device), cancellationToken).ConfigureAwait(false);
        if (!reply.Accepted)
        {
            throw new InvalidOperationException($"TALQ gateway {gateway.Username} refused the override command ({reply.Status}): {TalqError.Clip(reply.Body)}");
        }
    }
}

/// <summary>
/// Which gateway announced which device. Its own singleton, not TalqIngress's: the command channel needs it, and
/// the ingress depends on the ingest stage, whose observers include the lighting service that holds the channel.
/// </summary>
public sealed class TalqDeviceOwners
{
    public System.Collections.Concurrent.ConcurrentDictionary<Guid, Guid> ByDevice { get; } = new();

    public Guid? OwnerOf(Guid device) => ByDevice.TryGetValue(device, out var owner) ? owner : null;
}

/// <summary>One client per configured gateway API, sharing one HttpClient (connection pooling, TLS).</summary>
public sealed class TalqGatewayClients : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public TalqGatewayClient For(TalqGateway gateway) =>
        new(_http, gateway.Api ?? throw new InvalidOperationException($"gateway {gateway.Username} has no 'api' entry"));

    public void Dispose() => _http.Dispose();
}

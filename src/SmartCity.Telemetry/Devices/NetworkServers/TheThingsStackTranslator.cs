using System.Text.Json;

namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>
/// The Things Stack v3 MQTT (<c>v3/{app}[@tenant]/devices/{deviceId}/up</c>, <c>.../join</c>) and its Pub/Sub
/// integration (exact topics the integrator chose). The topic names the TTS device ID, not the DevEUI;
/// zero, false and empty members are left out (<c>f_cnt</c> 0, sometimes <c>dev_eui</c>).
/// </summary>
public static class TheThingsStackTranslator
{
    private static readonly UplinkNames Names = new("f_port", "f_cnt", "frm_payload", "decoded_payload", "rx_metadata", rx => rx.Member("gateway_ids")?.String("gateway_id"));

    public static bool TryReadTopic(string rest, out NetworkMessage message, out string error)
    {
        var parts = rest.Split('/', 4);
        message = null!;
        if (parts.Length != 4 || parts[1] != "devices" || parts[0].Length == 0 || parts[2].Length == 0)
        {
            error = "expected {application}[@tenant]/devices/{deviceId}/{event} after The Things Stack prefix";
            return false;
        }

        var application = parts[0].Split('@')[0];
        var ev = parts[3] switch
        {
            "up" => NetworkEvent.Uplink,
            "join" => NetworkEvent.Join,
            // up/normalized repeats the uplink (each may come twice); down/..., service/..., location/...: not ours.
            _ => NetworkEvent.Other,
        };
        message = new NetworkMessage(NetworkNames.TheThingsStack, application, ev) { NetworkDeviceId = parts[2] };
        error = "";
        return true;
    }

    /// <summary>A Pub/Sub message: the topic says only the event; the device is in the payload.</summary>
    public static NetworkMessage FromPubSub(PubSubRoute route) =>
        new(route.Network, route.Application, route.Event == "join" ? NetworkEvent.Join : NetworkEvent.Uplink);

    public static bool TryReadBody(JsonElement root, ref NetworkMessage message, out DecodeResult rejection)
    {
        var ids = root.Member("end_device_ids");
        var deviceId = ids?.String("device_id");
        if (ids is null || deviceId is null)
        {
            rejection = DecodeResult.Rejected(RejectReason.MissingField, "'end_device_ids.device_id' is required");
            return false;
        }

        if (message.NetworkDeviceId is { } fromTopic && fromTopic != deviceId)
        {
            rejection = DecodeResult.Rejected(RejectReason.IdentityMismatch, $"the payload says device_id '{Devices.JsonPayload.Truncate(deviceId, 64)}', the topic says '{fromTopic}'");
            return false;
        }

        var application = ids.Value.Member("application_ids")?.String("application_id");
        if (application is not null && application != message.Application)
        {
            rejection = DecodeResult.Rejected(RejectReason.IdentityMismatch, $"the payload says application '{Devices.JsonPayload.Truncate(application, 64)}', the topic or Pub/Sub mapping says '{message.Application}'");
            return false;
        }

        var uplink = root.Member("uplink_message");
        if (!NetworkJson.TryTime(root.String("received_at") ?? uplink?.String("received_at"), out var time))
        {
            rejection = DecodeResult.Rejected(RejectReason.InvalidTimestamp, "'received_at' must be RFC 3339");
            return false;
        }

        message = message with { NetworkDeviceId = deviceId, DevEui = ids.Value.String("dev_eui")?.ToLowerInvariant(), Time = time };
        if (message.Event != NetworkEvent.Uplink)
        {
            rejection = default;
            return true;
        }

        if (uplink is not { ValueKind: JsonValueKind.Object } up)
        {
            rejection = DecodeResult.Rejected(RejectReason.MissingField, "'uplink_message' is required in an uplink");
            return false;
        }

        return TryReadUplink(up, ref message, out rejection);
    }

    private static bool TryReadUplink(JsonElement up, ref NetworkMessage message, out DecodeResult rejection) =>
        NetworkJson.TryReadUplink(up, Names, ref message, out rejection);
}

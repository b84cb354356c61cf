using System.Text.Json;

namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>
/// ChirpStack v4 MQTT integration, JSON encoding: <c>{prefix}/{applicationId}/device/{devEui}/event/{event}</c>.
/// <c>up</c> carries <c>deviceInfo</c>, <c>fPort</c>, <c>fCnt</c>, <c>data</c> (base64, always present) and
/// <c>object</c> when a codec ran (a protobuf Struct: every number a double), <c>rxInfo</c> one entry per
/// gateway, <c>time</c>; <c>join</c> a new session; <c>status</c> the link margin and battery.
/// </summary>
public static class ChirpStackTranslator
{
    private static readonly UplinkNames Names = new("fPort", "fCnt", "data", "object", "rxInfo", rx => rx.String("gatewayId"));

    /// <summary>The topic after the prefix: which application, device and event; false when it is not ChirpStack's shape.</summary>
    public static bool TryReadTopic(string rest, out NetworkMessage message, out string error)
    {
        var parts = rest.Split('/');
        message = null!;
        if (parts.Length != 5 || parts[1] != "device" || parts[3] != "event" || parts[0].Length == 0)
        {
            error = "expected {applicationId}/device/{devEui}/event/{event} after the ChirpStack prefix";
            return false;
        }

        var ev = parts[4] switch
        {
            "up" => NetworkEvent.Uplink,
            "join" => NetworkEvent.Join,
            "status" => NetworkEvent.Status,
            _ => NetworkEvent.Other,
        };
        message = new NetworkMessage(NetworkNames.ChirpStack, parts[0], ev) { DevEui = parts[2].ToLowerInvariant() };
        error = "";
        return true;
    }

    /// <summary>Reads the event's body into <paramref name="message"/> (from the topic); false with the rejection.</summary>
    public static bool TryReadBody(JsonElement root, ref NetworkMessage message, out DecodeResult rejection)
    {
        var info = root.Member("deviceInfo");
        var eui = info?.String("devEui");
        if (info is null || eui is null)
        {
            rejection = DecodeResult.Rejected(RejectReason.MissingField, "'deviceInfo.devEui' is required");
            return false;
        }

        if (!string.Equals(eui, message.DevEui, StringComparison.OrdinalIgnoreCase))
        {
            rejection = DecodeResult.Rejected(RejectReason.IdentityMismatch, $"the payload says devEui '{Devices.JsonPayload.Truncate(eui, 32)}', the topic says '{message.DevEui}'");
            return false;
        }

        if (!NetworkJson.TryTime(root.String("time"), out var time))
        {
            rejection = DecodeResult.Rejected(RejectReason.InvalidTimestamp, "'time' must be RFC 3339 with an offset");
            return false;
        }

        message = message with { Time = time };
        return message.Event switch
        {
            NetworkEvent.Uplink => TryReadUplink(root, ref message, out rejection),
            NetworkEvent.Status => TryReadStatus(root, ref message, out rejection),
            _ => Accept(out rejection),
        };
    }

    private static bool TryReadUplink(JsonElement root, ref NetworkMessage message, out DecodeResult rejection) =>
        NetworkJson.TryReadUplink(root, Names, ref message, out rejection);

    private static bool TryReadStatus(JsonElement root, ref NetworkMessage message, out DecodeResult rejection)
    {
        if (!root.TryWhole("margin", 255, out var margin) && root.Number("margin") is null)
        {
            rejection = DecodeResult.Rejected(RejectReason.WrongType, "'margin' must be a number");
            return false;
        }

        var battery = root.Number("batteryLevel");
        if (battery is < 0 or > 100)
        {
            rejection = DecodeResult.Rejected(RejectReason.OutOfRange, $"'batteryLevel' must be 0..100 %, was {battery}");
            return false;
        }

        // Mains-powered devices, or devices that cannot measure, report no level: none is stored.
        var unavailable = root.Bool("batteryLevelUnavailable") || root.Bool("externalPowerSource");
        message = message with
        {
            MarginDb = margin ?? (long?)root.Number("margin"),
            BatteryPct = unavailable ? null : battery,
            ExternalPower = root.Bool("externalPowerSource"),
        };
        return Accept(out rejection);
    }

    private static bool Accept(out DecodeResult rejection)
    {
        rejection = default;
        return true;
    }
}

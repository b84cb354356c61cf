using System.Globalization;
using System.Text.Json;

namespace SmartCity.Telemetry.Devices.NetworkServers;

public enum NetworkEvent
{
    Uplink,
    Join,
    /// <summary>ChirpStack's device status (battery, link margin), sent when the device profile asks for it.</summary>
    Status,
    /// <summary>Acks, logs, locations, downlink events, TTS's normalized duplicate of an uplink: not for the worker.</summary>
    Other,
}

/// <summary>
/// One network-server message in a shape common to ChirpStack and The Things Stack. <see cref="Object"/>
/// belongs to the JSON document the translator read, and lives as long as it.
/// </summary>
public sealed record NetworkMessage(string Network, string Application, NetworkEvent Event)
{
    public string? DevEui { get; init; }

    public string? NetworkDeviceId { get; init; }

    public DateTimeOffset? Time { get; init; }

    public int? FPort { get; init; }

    /// <summary>Absent means 0: both servers leave default values out (TTS always, ChirpStack before v4.1).</summary>
    public long FCnt { get; init; }

    public byte[]? Data { get; init; }

    public JsonElement? Object { get; init; }

    /// <summary>The gateway that heard the uplink best (highest SNR), and how many heard it.</summary>
    public string? GatewayId { get; init; }

    public double? Rssi { get; init; }

    public double? Snr { get; init; }

    public int Gateways { get; init; }

    public double? BatteryPct { get; init; }

    public long? MarginDb { get; init; }

    public bool ExternalPower { get; init; }
}

/// <summary>How a network server names an uplink's members.</summary>
internal sealed record UplinkNames(string FPort, string FCnt, string Payload, string Decoded, string RxInfo, Func<JsonElement, string?> GatewayId);

/// <summary>Small readers shared by the translators: tolerant of absent members, strict about their types.</summary>
internal static class NetworkJson
{
    /// <summary>
    /// Port, frame counter, payload, decoded object and gateways of an uplink. Absent members are their
    /// defaults (both servers leave them out): no counter is 0, no port and no payload is a MAC-only uplink.
    /// </summary>
    public static bool TryReadUplink(JsonElement up, UplinkNames names, ref NetworkMessage message, out DecodeResult rejection)
    {
        if (!up.TryWhole(names.FPort, 255, out var fPort) || !up.TryWhole(names.FCnt, uint.MaxValue, out var fCnt))
        {
            rejection = DecodeResult.Rejected(RejectReason.WrongType, $"'{names.FPort}' (0..255) and '{names.FCnt}' (0..4294967295) must be whole numbers");
            return false;
        }

        if (!TryBase64(up.String(names.Payload), out var data))
        {
            rejection = DecodeResult.Rejected(RejectReason.MalformedJson, $"'{names.Payload}' is not base64");
            return false;
        }

        var (gateway, rssi, snr, count) = BestGateway(up.Member(names.RxInfo), names.GatewayId);
        message = message with
        {
            FPort = fPort is { } p ? (int)p : (data is null or { Length: 0 } ? 0 : null),
            FCnt = fCnt ?? 0,
            Data = data,
            Object = up.Member(names.Decoded) is { ValueKind: JsonValueKind.Object } o ? o : null,
            GatewayId = gateway,
            Rssi = rssi,
            Snr = snr,
            Gateways = count,
        };
        rejection = default;
        return true;
    }

    public static JsonElement? Member(this JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public static string? String(this JsonElement e, string name) => e.Member(name) is { ValueKind: JsonValueKind.String } v ? v.GetString() : null;

    public static double? Number(this JsonElement e, string name) => e.Member(name) is { ValueKind: JsonValueKind.Number } v ? v.GetDouble() : null;

    public static bool Bool(this JsonElement e, string name) => e.Member(name) is { ValueKind: JsonValueKind.True };

    /// <summary>A whole number, also written as a double (<c>10.0</c>): false when present but not one.</summary>
    public static bool TryWhole(this JsonElement e, string name, long max, out long? value)
    {
        value = null;
        if (e.Member(name) is not { } v)
        {
            return true;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || d < 0 || d > max || Math.Floor(d) != d)
        {
            return false;
        }

        value = (long)d;
        return true;
    }

    /// <summary>RFC 3339 with up to 9 fractional digits (both servers write nanoseconds; .NET parses 7).</summary>
    public static bool TryTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (text is null)
        {
            return true;
        }

        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0)
        {
            var end = dot + 1;
            while (end < text.Length && char.IsAsciiDigit(text[end]))
            {
                end++;
            }

            if (end - dot - 1 > 7)
            {
                text = string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
            }
        }

        if (DateTimeOffset.TryParseExact(text, ["yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK", "yyyy-MM-dd'T'HH:mm:ssK"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
        {
            time = parsed;
            return true;
        }

        return false;
    }

    public static bool TryBase64(string? text, out byte[]? data)
    {
        data = null;
        if (text is null)
        {
            return true;
        }

        var buffer = new byte[(text.Length * 3 / 4) + 3];
        if (!Convert.TryFromBase64String(text, buffer, out var written))
        {
            return false;
        }

        data = buffer[..written];
        return true;
    }

    /// <summary>The best-heard gateway of a ChirpStack <c>rxInfo</c> or a TTS <c>rx_metadata</c> array.</summary>
    public static (string? Gateway, double? Rssi, double? Snr, int Count) BestGateway(JsonElement? array, Func<JsonElement, string?> gatewayId)
    {
        if (array is not { ValueKind: JsonValueKind.Array } a)
        {
            return (null, null, null, 0);
        }

        (string? Gateway, double? Rssi, double? Snr, int Count) best = (null, null, null, 0);
        foreach (var rx in a.EnumerateArray())
        {
            var snr = rx.Number("snr");
            var rssi = rx.Number("rssi") ?? rx.Number("channel_rssi");
            if (best.Count == 0 || (snr ?? double.MinValue) > (best.Snr ?? double.MinValue))
            {
                best = (gatewayId(rx), rssi, snr, best.Count);
            }

            best.Count++;
        }

        return best;
    }
}

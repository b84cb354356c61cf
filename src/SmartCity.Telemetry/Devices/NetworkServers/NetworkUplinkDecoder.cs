using System.Buffers;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.Telemetry.Devices.NetworkServers;

/// <summary>
/// Network-server messages into the same outcomes a device-contract message gets: an uplink becomes a
/// point of the mapped device's profile (fields from the server's decoded object, or from a codec
/// plug-in chosen by fPort) with its radio metadata; a join becomes the device's birth; a status its
/// battery and link margin. The ingest stage then admits, alerts, spools and stores them as any other.
/// Unknown devices are quarantined, bad messages rejected with a reason; nothing here throws for input.
/// </summary>
public sealed partial class NetworkUplinkDecoder
{
    /// <summary>Battery and link margin of ChirpStack's status event.</summary>
    public const string StatusMeasurement = "lorawan_status";

    private readonly NetworkMappings _mappings;
    private readonly Dictionary<string, IPayloadDecoderPlugin> _codecs;
    private readonly DecodingOptions _options;
    private readonly NetworkServerMetrics _metrics;
    private readonly FrameCounters _counters = new();

    public NetworkUplinkDecoder(NetworkMappings mappings, IEnumerable<IPayloadDecoderPlugin> plugins, IOptions<DecodingOptions> options, NetworkServerMetrics metrics)
    {
        _mappings = mappings;
        _codecs = plugins.ToDictionary(p => p.Name, StringComparer.Ordinal);
        _options = options.Value;
        _metrics = metrics;
    }

    public NetworkMappings Mappings => _mappings;

    /// <summary>False when the topic is not a mapped network server's; then the device contract applies.</summary>
    public bool TryDecode(string topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt, out DecodeOutcome outcome)
    {
        outcome = default;
        NetworkMessage message;
        if (_mappings.PubSub.TryGetValue(topic, out var pubSub))
        {
            message = TheThingsStackTranslator.FromPubSub(pubSub);
        }
        else if (_mappings.TryRoute(topic, out var route, out var rest))
        {
            var read = route.Network == NetworkNames.ChirpStack
                ? ChirpStackTranslator.TryReadTopic(rest, out message, out var error)
                : TheThingsStackTranslator.TryReadTopic(rest, out message, out error);
            if (!read)
            {
                outcome = new(DecodeStatus.Rejected, DecodeResult.Rejected(RejectReason.InvalidTopic, error), null);
                return true;
            }
        }
        else
        {
            return false;
        }

        outcome = Decode(message, payload, receivedAt);
        return true;
    }

    private DecodeOutcome Decode(NetworkMessage message, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt)
    {
        if (message.Event == NetworkEvent.Other)
        {
            return new(DecodeStatus.Ignored, default, null);
        }

        var known = _mappings.Find(message.Network, message.Application, message.DevEui, message.NetworkDeviceId);
        if (payload.Length > _options.MaxPayloadBytes)
        {
            return Reject(RejectReason.PayloadTooLarge, $"payload is {payload.Length} bytes, the limit is {_options.MaxPayloadBytes}", known?.Topic);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = _options.MaxJsonDepth });
        }
        catch (JsonException ex)
        {
            return Reject(RejectReason.MalformedJson, $"not a {message.Network} JSON message: {ex.Message}", known?.Topic);
        }

        using (document)
        {
            var read = message.Network == NetworkNames.ChirpStack
                ? ChirpStackTranslator.TryReadBody(document.RootElement, ref message, out var rejection)
                : TheThingsStackTranslator.TryReadBody(document.RootElement, ref message, out rejection);
            if (!read)
            {
                return new(DecodeStatus.Rejected, rejection, known?.Topic);
            }

            var device = _mappings.Find(message.Network, message.Application, message.DevEui, message.NetworkDeviceId);
            return device is null ? Unknown(message) : Decode(device, message, receivedAt);
        }
    }

    private DecodeOutcome Decode(MappedDevice device, NetworkMessage message, DateTimeOffset receivedAt)
    {
        var ts = message.Time ?? receivedAt;
        if (ts > receivedAt + _options.MaxClockSkew || ts < receivedAt - _options.MaxMessageAge)
        {
            return Reject(RejectReason.InvalidTimestamp, $"time {ts:O} is outside [{_options.MaxMessageAge} back, {_options.MaxClockSkew} ahead] of the worker's clock", device.Topic);
        }

        switch (message.Event)
        {
            case NetworkEvent.Join:
                // A join is the device's birth: registered (again) with its mapped profile, back online for alerting.
                _counters.Reset(device.Topic.DeviceId);
                var status = device.Topic with { Kind = MessageKind.Status };
                var birth = Point.ForDevice(StatusDecoder.Measurement, ts, status).Field("online", true).Field("profile", device.Profile.Id);
                return new(DecodeStatus.Accepted, DecodeResult.Accepted(birth), status);
            case NetworkEvent.Status:
                return new(DecodeStatus.Accepted, DecodeResult.Accepted(StatusPoint(device, message, ts)), device.Topic);
            default:
                return Uplink(device, message, ts);
        }
    }

    private static Point StatusPoint(MappedDevice device, NetworkMessage message, DateTimeOffset ts)
    {
        var point = Point.ForDevice(StatusMeasurement, ts, device.Topic);
        if (message.BatteryPct is { } battery)
        {
            point.Field("battery_pct", battery);
        }

        if (message.MarginDb is { } margin)
        {
            point.Field("margin_db", margin);
        }

        return point.Field("external_power", message.ExternalPower);
    }

    private DecodeOutcome Uplink(MappedDevice device, NetworkMessage message, DateTimeOffset ts)
    {
        var check = _counters.Observe(device.Topic.DeviceId, message.FCnt);
        _metrics.Record(check, message.Network);
        if (message.FPort is 0 || (message.Object is null && (message.Data is null || message.Data.Length == 0)))
        {
            // MAC commands only: nothing for the profile (the device is alive, but no point to store).
            return new(DecodeStatus.Ignored, default, device.Topic);
        }

        DecodeResult result;
        if (message.Object is { } decoded && device.Fields.Count > 0)
        {
            result = MapObject(device, decoded, ts);
        }
        else if (message.Data is { Length: > 0 } data && message.FPort is { } port && device.Codecs.TryGetValue(port, out var name) && _codecs.TryGetValue(name, out var codec))
        {
            result = codec.Decode(device.Profile, device.Spec, device.Topic, new ReadOnlySequence<byte>(data), ts, _options);
        }
        else
        {
            result = DecodeResult.Rejected(RejectReason.UnsupportedMessageKind,
                $"{device.Source}: no codec for fPort {message.FPort?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(none)"} and no decoded object with mapped fields");
        }

        if (!result.IsAccepted)
        {
            return new(DecodeStatus.Rejected, result, device.Topic);
        }

        AddRadio(result.Point!, message, check);
        return new(DecodeStatus.Accepted, result, device.Topic);
    }

    private static void AddRadio(Point point, NetworkMessage message, FrameCounterCheck check)
    {
        point.Field("fcnt", message.FCnt).Field("lost_uplinks", check.Lost);
        if (message.FPort is { } port)
        {
            point.Field("f_port", (long)port);
        }

        if (message.Rssi is { } rssi)
        {
            point.Field("rssi_dbm", rssi);
        }

        if (message.Snr is { } snr)
        {
            point.Field("snr_db", snr);
        }

        if (message.GatewayId is { } gateway && TopicParser.IsValidSegment(gateway))
        {
            point.Field("gateway_id", gateway).Field("gateways", (long)message.Gateways);
        }
    }

    /// <summary>
    /// An unmapped DevEUI or device ID: quarantined like a device without a birth. Its topic is made of
    /// fixed words and the validated id, so the dead letter's tags stay safe.
    /// </summary>
    private static DecodeOutcome Unknown(NetworkMessage message)
    {
        var id = message.DevEui ?? message.NetworkDeviceId;
        var safe = id is not null && TopicParser.IsValidSegment(id) ? id : "invalid-id";
        var topic = new DeviceTopic("lorawan", "unmapped", "unmapped", message.Network, safe, MessageKind.Telemetry);
        return Reject(RejectReason.UnknownDevice,
            $"{message.Network} device {(message.DevEui is null ? "id" : "devEui")} '{JsonPayload.Truncate(id ?? "", 64)}' of application '{JsonPayload.Truncate(message.Application, 64)}' is in no mapping file; quarantined", topic);
    }

    private static DecodeOutcome Reject(RejectReason reason, string detail, DeviceTopic? topic) =>
        new(DecodeStatus.Rejected, DecodeResult.Rejected(reason, detail), topic);
}

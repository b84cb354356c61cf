using System.Buffers;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.NetworkServers;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.Telemetry.Ingest;

/// <summary>
/// The decode stage: topic shape, size limit, then the decoder for (device type, kind): one made
/// from each device profile, or a code plug-in (<see cref="IPayloadDecoderPlugin"/>) that a
/// profile names for binary or vendor payloads.
/// </summary>
public sealed class MessageDecoder
{
    private readonly TopicParser _topics;
    private readonly DecodingOptions _options;
    private readonly Dictionary<(string Type, MessageKind Kind), IDeviceDecoder> _decoders = [];
    private readonly HashSet<string> _knownTypes = new(StringComparer.Ordinal);
    private readonly NetworkUplinkDecoder? _network;

    /// <param name="network">LoRaWAN network servers' topics (mapping files), decoded before the device contract; none: device contract only.</param>
    public MessageDecoder(IOptions<DecodingOptions> options, ProfileSet profiles, IEnumerable<IPayloadDecoderPlugin> plugins, NetworkUplinkDecoder? network = null)
    {
        _network = network;
        _options = options.Value;
        _topics = new TopicParser(_options.TopicRoot, _options.MaxTopicSegmentLength, _options.EffectiveSectors);
        Profiles = profiles;
        var byName = plugins.ToDictionary(p => p.Name, StringComparer.Ordinal);
        var problems = new List<string>();
        var decoders = profiles.Profiles.SelectMany(p => p.Messages
            .Select(m => m.Value.Decoder is { } name
                ? byName.TryGetValue(name, out var plugin)
                    ? new PluginDecoder(plugin, p, m.Key, _options)
                    : Missing(p, m.Key, name)
                : (IDeviceDecoder)new ProfileDecoder(p, m.Key, _options))
            .OfType<IDeviceDecoder>()
            .Append(new StatusDecoder(p, profiles, _options)))
            .ToList();
        Problems = problems;

        IDeviceDecoder? Missing(DeviceProfile p, string kind, string name)
        {
            // The kind is left without a decoder (its messages are rejected as unsupported); the rest of the profile works.
            problems.Add($"{p.Source}: messages.{kind}.decoder: no plug-in named '{name}' is registered ({string.Join(", ", byName.Keys)})");
            return null;
        }

        foreach (var decoder in decoders)
        {
            if (!_decoders.TryAdd((decoder.DeviceType, decoder.Kind), decoder))
            {
                throw new InvalidOperationException($"two decoders registered for {decoder.DeviceType}/{decoder.Kind}");
            }

            _knownTypes.Add(decoder.DeviceType);
        }
    }

    public ProfileSet Profiles { get; }

    /// <summary>Profiles whose plug-in decoder is missing (logged at start).</summary>
    public IReadOnlyList<string> Problems { get; }

    public DecodingOptions Options => _options;

    public DecodeOutcome Decode(string topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt)
    {
        if (_network is not null && _network.TryDecode(topic, payload, receivedAt, out var fromNetwork))
        {
            return fromNetwork;
        }

        if (!_topics.TryParse(topic, out var parsed, out var error))
        {
            return new(DecodeStatus.Rejected, DecodeResult.Rejected(RejectReason.InvalidTopic, error), null);
        }

        if (parsed.Kind == MessageKind.Command)
        {
            return new(DecodeStatus.Ignored, default, parsed);
        }

        if (payload.Length > _options.MaxPayloadBytes)
        {
            return Reject(RejectReason.PayloadTooLarge, $"payload is {payload.Length} bytes, the limit is {_options.MaxPayloadBytes}", parsed);
        }

        if (!_decoders.TryGetValue((parsed.DeviceType, parsed.Kind), out var decoder))
        {
            return _knownTypes.Contains(parsed.DeviceType)
                ? Reject(RejectReason.UnsupportedMessageKind, $"device type '{parsed.DeviceType}' has no decoder for {parsed.Kind.ToString().ToLowerInvariant()} messages", parsed)
                : Reject(RejectReason.UnknownDeviceType, $"no decoder for device type '{parsed.DeviceType}'", parsed);
        }

        if (decoder.Sector != parsed.Sector)
        {
            return Reject(RejectReason.InvalidTopic, $"device type '{parsed.DeviceType}' belongs to sector '{decoder.Sector}', not '{parsed.Sector}'", parsed);
        }

        var result = decoder.Decode(parsed, payload, receivedAt);
        return new(result.IsAccepted ? DecodeStatus.Accepted : DecodeStatus.Rejected, result, parsed);
    }

    private static DecodeOutcome Reject(RejectReason reason, string detail, DeviceTopic topic) =>
        new(DecodeStatus.Rejected, DecodeResult.Rejected(reason, detail), topic);
}

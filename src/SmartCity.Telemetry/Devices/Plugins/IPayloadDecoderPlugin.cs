using System.Buffers;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.Plugins;

/// <summary>
/// Code for payloads a profile cannot describe (binary or vendor formats). A profile names the
/// plug-in in a message kind's <c>decoder</c> property; its <c>fields</c> then document what the
/// plug-in produces, and everything else (registry, alerts, dashboards) works as for JSON devices.
/// Register with <c>services.AddSingleton&lt;IPayloadDecoderPlugin, MyDecoder&gt;()</c>.
/// </summary>
public interface IPayloadDecoderPlugin
{
    /// <summary>The name profiles use in <c>"decoder"</c>.</summary>
    string Name { get; }

    /// <summary>Decodes one payload; bad input is a rejection value, never an exception.</summary>
    DecodeResult Decode(DeviceProfile profile, MessageSpec spec, in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt, DecodingOptions options);
}

/// <summary>Adapts a plug-in to one (device type, kind) of a profile.</summary>
internal sealed class PluginDecoder(IPayloadDecoderPlugin plugin, DeviceProfile profile, string kind, DecodingOptions options) : IDeviceDecoder
{
    private readonly MessageSpec _spec = profile.Messages[kind];

    public string DeviceType => profile.DeviceType;

    public string Sector => profile.Sector;

    public MessageKind Kind { get; } = kind == "event" ? MessageKind.Event : MessageKind.Telemetry;

    public DecodeResult Decode(in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt) =>
        plugin.Decode(profile, _spec, topic, payload, receivedAt, options);
}

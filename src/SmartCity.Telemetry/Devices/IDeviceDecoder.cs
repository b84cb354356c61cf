using System.Buffers;

namespace SmartCity.Telemetry.Devices;

/// <summary>Turns one device message into a point, or a rejection. Must never throw for bad input.</summary>
public interface IDeviceDecoder
{
    /// <summary>The device type segment of the topic this decoder handles (for example <c>streetlight</c>).</summary>
    string DeviceType { get; }

    /// <summary>The sector the device type belongs to.</summary>
    string Sector { get; }

    MessageKind Kind { get; }

    DecodeResult Decode(in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt);
}

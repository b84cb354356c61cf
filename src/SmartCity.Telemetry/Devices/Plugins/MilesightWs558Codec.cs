using System.Buffers;
using System.Buffers.Binary;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.Plugins;

/// <summary>
/// Milesight WS558 LoRaWAN light controller, fPort 85, from Milesight's public payload description:
/// (channel, type, value) records, little-endian. Voltage (0x03 0x74, 0.1 V), active power (0x04 0x80, W),
/// power factor (0x05 0x81, %), energy (0x06 0x83, Wh), total current (0x07 0xC9, mA), relays
/// (0x08 0x31: second byte, bit n = switch n+1 on) and device information (0xFF ...). It feeds the
/// street-light fields in their units (kWh, A, power factor 0..1). The controller sends no on/off as
/// such: <c>on</c> is relay 1, or, in a report without relay states, active power above zero.
/// A record cut short or a (channel, type) the description does not define rejects the frame.
/// </summary>
public sealed class MilesightWs558Codec : IPayloadDecoderPlugin
{
    public const string PluginName = "milesight_ws558_v1";

    public string Name => PluginName;

    public DecodeResult Decode(DeviceProfile profile, MessageSpec spec, in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt, DecodingOptions options) =>
        ProfileFields.FromFrame(spec, topic, receivedAt, payload, "WS558", TryRead);

    public static bool TryRead(ReadOnlySpan<byte> frame, Dictionary<string, FieldValue> values, out string error)
    {
        var i = 0;
        while (i < frame.Length)
        {
            if (i + 2 > frame.Length)
            {
                error = $"record at byte {i} has no type byte (truncated)";
                return false;
            }

            var (channel, type) = (frame[i], frame[i + 1]);
            var length = ValueLength(channel, type);
            if (length < 0)
            {
                error = $"channel 0x{channel:x2} type 0x{type:x2} at byte {i} is not in the WS558 payload description";
                return false;
            }

            if (i + 2 + length > frame.Length)
            {
                error = $"channel 0x{channel:x2} type 0x{type:x2} at byte {i} needs {length} bytes, the frame has {frame.Length - i - 2} left (truncated)";
                return false;
            }

            Read(channel, frame.Slice(i + 2, length), values);
            i += 2 + length;
        }

        if (!values.ContainsKey("on") && values.TryGetValue("power_w", out var power))
        {
            values["on"] = FieldValue.Bool(power.Number > 0);
        }

        error = "";
        return true;
    }

    private static void Read(byte channel, ReadOnlySpan<byte> v, Dictionary<string, FieldValue> values)
    {
        switch (channel)
        {
            case 0x03: values["voltage_v"] = FieldValue.Float(BinaryPrimitives.ReadUInt16LittleEndian(v) / 10.0); break;
            // Power and energy are signed in the maker's description: a negative one is out of range, not a huge one.
            case 0x04: values["power_w"] = FieldValue.Float(BinaryPrimitives.ReadInt32LittleEndian(v)); break;
            case 0x05: values["power_factor"] = FieldValue.Float(v[0] / 100.0); break;
            case 0x06: values["energy_kwh"] = FieldValue.Float(BinaryPrimitives.ReadInt32LittleEndian(v) / 1000.0); break;
            case 0x07: values["current_a"] = FieldValue.Float(BinaryPrimitives.ReadUInt16LittleEndian(v) / 1000.0); break;
            case 0x08: values["on"] = FieldValue.Bool((v[1] & 1) != 0); break;
        }
    }

    private static int ValueLength(byte channel, byte type) => (channel, type) switch
    {
        (0x03, 0x74) => 2,
        (0x04, 0x80) => 4,
        (0x05, 0x81) => 1,
        (0x06, 0x83) => 4,
        (0x07, 0xC9) => 2,
        (0x08, 0x31) => 2,
        (0xFF, 0x01) or (0xFF, 0x0B) or (0xFF, 0x0F) => 1,
        (0xFF, 0x09) or (0xFF, 0x0A) => 2,
        (0xFF, 0x16) => 8,
        _ => -1,
    };
}

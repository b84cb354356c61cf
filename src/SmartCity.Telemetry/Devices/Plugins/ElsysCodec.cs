using System.Buffers;
using System.Buffers.Binary;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.Plugins;

/// <summary>
/// Elsys ERS family (ERS CO2, ERS, ERS Lite...) LoRaWAN uplinks, fPort 1, from Elsys' public payload
/// specification: a sequence of (type byte, fixed-length value), big-endian. It feeds the
/// <c>classroom_env</c> fields: temperature (0x01, signed 0.1 degC), humidity (0x02, %), motion
/// (0x05, PIR count since the last uplink: presence when above 0), CO2 (0x06, ppm) and sound
/// (0x15, peak and average dB: the average is <c>noise_dba</c>). Other types are read over and not stored.
/// Unlike the maker's reference decoder it checks lengths: a value cut short by the end of the frame,
/// or a type the specification does not define, rejects the frame instead of reading past it.
/// </summary>
public sealed class ElsysCodec : IPayloadDecoderPlugin
{
    public const string PluginName = "elsys_ers_v1";

    public string Name => PluginName;

    public DecodeResult Decode(DeviceProfile profile, MessageSpec spec, in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt, DecodingOptions options) =>
        ProfileFields.FromFrame(spec, topic, receivedAt, payload, "Elsys", TryRead);

    /// <summary>Reads a frame into profile field values; false (with why) for a frame the specification does not allow.</summary>
    public static bool TryRead(ReadOnlySpan<byte> frame, Dictionary<string, FieldValue> values, out string error)
    {
        var i = 0;
        while (i < frame.Length)
        {
            var type = frame[i];
            var length = ValueLength(type, frame[(i + 1)..]);
            if (length < 0)
            {
                error = $"type 0x{type:x2} at byte {i} is not in the Elsys payload specification";
                return false;
            }

            if (i + 1 + length > frame.Length)
            {
                error = $"type 0x{type:x2} at byte {i} needs {length} bytes, the frame has {frame.Length - i - 1} left (truncated)";
                return false;
            }

            var v = frame.Slice(i + 1, length);
            switch (type)
            {
                case 0x01: values["temperature_c"] = FieldValue.Float(BinaryPrimitives.ReadInt16BigEndian(v) / 10.0); break;
                case 0x02: values["humidity_pct"] = FieldValue.Float(v[0]); break;
                case 0x05: values["presence"] = FieldValue.Bool(v[0] > 0); break;
                case 0x06: values["co2_ppm"] = FieldValue.Float(BinaryPrimitives.ReadUInt16BigEndian(v)); break;
                case 0x15: values["noise_dba"] = FieldValue.Float(v[1]); break;
            }

            i += 1 + length;
        }

        error = "";
        return true;
    }

    // Value lengths of the specification's types; -1: undefined. 0x3E (settings) carries its own length byte.
    private static int ValueLength(byte type, ReadOnlySpan<byte> rest) => type switch
    {
        0x02 or 0x05 or 0x0D or 0x0F or 0x11 or 0x12 or 0x1A => 1,
        0x01 or 0x04 or 0x06 or 0x07 or 0x08 or 0x0A or 0x0C or 0x0E or 0x15 or 0x16 or 0x18 or 0x19 or 0x1C => 2,
        0x03 => 3,
        0x0B or 0x10 or 0x14 or 0x17 or 0x1B or 0x3D => 4,
        0x09 => 6,
        0x13 => 65,
        0x3E => rest.IsEmpty ? 1 : 1 + rest[0],
        _ => -1,
    };
}

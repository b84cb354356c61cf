using System.Buffers;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.Plugins;

/// <summary>
/// Checks values a codec or a network-server mapping produced against a profile's message spec and
/// builds the point: the same types, ranges and required fields as a JSON device gets, so a LoRaWAN
/// classroom sensor and an MQTT one store identical points. Values the profile does not declare are
/// left out (the measurement keeps the profile's schema).
/// </summary>
public static class ProfileFields
{
    /// <summary>Reads a binary frame into profile field values; false with why the frame is not allowed.</summary>
    public delegate bool FrameReader(ReadOnlySpan<byte> frame, Dictionary<string, FieldValue> values, out string error);

    /// <summary>A codec's frame (never empty), read and then checked as the profile says; a bad frame is a <c>MalformedJson</c> rejection naming the codec.</summary>
    public static DecodeResult FromFrame(MessageSpec spec, in DeviceTopic topic, DateTimeOffset ts, in ReadOnlySequence<byte> payload, string codec, FrameReader read)
    {
        var values = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
        var error = "empty frame";
        return !payload.IsEmpty && read(payload.ToArray(), values, out error)
            ? Build(spec, topic, ts, values)
            : DecodeResult.Rejected(RejectReason.MalformedJson, $"{codec} frame: {error}");
    }

    public static DecodeResult Build(MessageSpec spec, in DeviceTopic topic, DateTimeOffset ts, IReadOnlyDictionary<string, FieldValue> values)
    {
        var point = Point.ForDevice(spec.Measurement, ts, topic, spec.Fields.Count + 8);
        foreach (var field in spec.Fields)
        {
            if (!values.TryGetValue(field.Name, out var value))
            {
                if (field.Required)
                {
                    return DecodeResult.Rejected(RejectReason.MissingField, $"'{field.Name}' is required by profile field list ({spec.Measurement}) and the uplink has none");
                }

                continue;
            }

            if (!TryCoerce(field, value, out var stored, out var problem))
            {
                return DecodeResult.Rejected(problem.Reason, problem.Detail);
            }

            point.Field(field.StoredName, stored);
        }

        return DecodeResult.Accepted(point);
    }

    /// <summary>Converts to the field's kind (12.0 is an integer: network servers send every number as a double) and checks its range.</summary>
    public static bool TryCoerce(FieldSpec field, FieldValue value, out FieldValue stored, out DecodeResult problem)
    {
        stored = value;
        problem = default;
        switch (field.Type)
        {
            case FieldKind.Float when value.Type is FieldType.Float or FieldType.Integer:
                var number = value.Type == FieldType.Float ? value.Number : value.Integer;
                stored = FieldValue.Float(number);
                return InRange(field, number, out problem);
            case FieldKind.Int when value.Type == FieldType.Integer:
                return InRange(field, value.Integer, out problem);
            case FieldKind.Int when value.Type == FieldType.Float && double.IsFinite(value.Number) && Math.Floor(value.Number) == value.Number && Math.Abs(value.Number) < 9e15:
                stored = FieldValue.Int((long)value.Number);
                return InRange(field, value.Number, out problem);
            case FieldKind.Bool when value.Type == FieldType.Boolean:
                return true;
            case FieldKind.String when value.Type == FieldType.String && value.Text!.Length <= field.MaxLength:
                return true;
            case FieldKind.Enum when value.Type == FieldType.String && field.Values is { } allowed && allowed.Contains(value.Text!, StringComparer.Ordinal):
                return true;
            default:
                problem = DecodeResult.Rejected(RejectReason.WrongType, $"'{field.Name}' must be {field.Type.ToString().ToLowerInvariant()}, the uplink gives {value}");
                return false;
        }
    }

    private static bool InRange(FieldSpec field, double number, out DecodeResult problem)
    {
        if (!double.IsFinite(number) || (field.Min is { } min && number < min) || (field.Max is { } max && number > max))
        {
            problem = DecodeResult.Rejected(RejectReason.OutOfRange, $"'{field.Name}' must be between {field.Min?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-inf"} and {field.Max?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "+inf"}, was {number.ToString(System.Globalization.CultureInfo.InvariantCulture)}");
            return false;
        }

        problem = default;
        return true;
    }
}

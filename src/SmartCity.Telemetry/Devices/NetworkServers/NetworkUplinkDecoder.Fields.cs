using System.Globalization;
using System.Text.Json;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.NetworkServers;

public sealed partial class NetworkUplinkDecoder
{
    private static readonly HashSet<string> TrueWords = new(StringComparer.OrdinalIgnoreCase) { "on", "true", "open", "opened", "occupied", "yes", "detected" };
    private static readonly HashSet<string> FalseWords = new(StringComparer.OrdinalIgnoreCase) { "off", "false", "closed", "close", "free", "no", "clear", "normal" };

    /// <summary>
    /// The server's decoded object onto the profile's fields. Makers' codecs differ: flat numbers,
    /// <c>{value, unit}</c> objects, numbers as strings, states as 0/1 or words, one quantity in several
    /// units; each is read by what it is, converted to the profile's unit, then checked by the profile.
    /// </summary>
    private static DecodeResult MapObject(MappedDevice device, JsonElement decoded, DateTimeOffset ts)
    {
        var values = new Dictionary<string, FieldValue>(StringComparer.Ordinal);
        foreach (var field in device.Fields)
        {
            if (Navigate(decoded, field.Path) is not { } element)
            {
                continue;
            }

            if (!TryValue(field.Target, element, field.Unit, out var value, out var problem))
            {
                return DecodeResult.Rejected(RejectReason.WrongType, $"object '{field.Key}' -> {field.Target.Name}: {problem}");
            }

            values[field.Target.Name] = value;
        }

        if (values.Count == 0)
        {
            return DecodeResult.Rejected(RejectReason.MissingField, $"the decoded object has none of the mapped keys ({string.Join(", ", device.Fields.Select(f => f.Key))}) of {device.Source}");
        }

        return ProfileFields.Build(device.Spec, device.Topic, ts, values);
    }

    private static JsonElement? Navigate(JsonElement root, string[] path)
    {
        var e = root;
        foreach (var key in path)
        {
            if (e.Member(key) is not { } next)
            {
                return null;
            }

            e = next;
        }

        return e;
    }

    private static bool TryValue(FieldSpec target, JsonElement e, string? unit, out FieldValue value, out string problem)
    {
        value = default;
        problem = "";
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                // {value, unit}: the unit it says wins over the mapping's.
                if (e.Member("value") is not { ValueKind: not JsonValueKind.Object } inner)
                {
                    problem = "an object without a 'value'";
                    return false;
                }

                return TryValue(target, inner, e.String("unit") ?? unit, out value, out problem);
            case JsonValueKind.True or JsonValueKind.False:
                value = FieldValue.Bool(e.ValueKind == JsonValueKind.True);
                return true;
            case JsonValueKind.Number:
                return TryNumber(target, e.GetDouble(), unit, out value, out problem);
            case JsonValueKind.String:
                var text = e.GetString()!;
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed))
                {
                    return TryNumber(target, parsed, unit, out value, out problem);
                }

                if (target.Type == FieldKind.Bool && (TrueWords.Contains(text) || FalseWords.Contains(text)))
                {
                    value = FieldValue.Bool(TrueWords.Contains(text));
                    return true;
                }

                value = FieldValue.String(text);
                return true;
            default:
                problem = $"a JSON {e.ValueKind.ToString().ToLowerInvariant()} is not a value";
                return false;
        }
    }

    private static bool TryNumber(FieldSpec target, double number, string? unit, out FieldValue value, out string problem)
    {
        value = default;
        problem = "";
        if (target.Type == FieldKind.Bool)
        {
            // A state as 0/1, or a count of events (PIR): anything above zero is true.
            value = FieldValue.Bool(number > 0);
            return true;
        }

        if (!NetworkUnits.TryFactor(unit, target.Unit, out var factor))
        {
            problem = $"unit '{unit}' cannot be converted to '{target.Unit}'";
            return false;
        }

        value = FieldValue.Float(NetworkUnits.Apply(number, factor));
        return true;
    }
}

using System.Globalization;
using System.Text.Json;

namespace SmartCity.Worker.Talq;

/// <summary>A TALQ device as announced: address, name, class and its functions (id -> type).</summary>
public sealed record TalqDevice(Guid Address, string Name, string Class, IReadOnlyDictionary<string, string> Functions)
{
    /// <summary>Function types that make a device one of our street lights (streetlight profile).</summary>
    public static readonly IReadOnlySet<string> LampFunctions = new HashSet<string>(StringComparer.Ordinal) { "LampActuatorFunction", "LampMonitorFunction" };

    public bool IsLamp => Functions.Values.Any(LampFunctions.Contains);
}

/// <summary>One logged value or event from a log report, already mapped to a streetlight profile field.</summary>
public sealed record TalqLogValue(Guid Device, DateTimeOffset? Timestamp, string Field, double? Number, bool? Flag);

/// <summary>
/// Structural checks of the TALQ data model for the bodies we accept (Device[], LogReport): the required
/// properties and their types. A body that fails is refused whole with payloadError, before anything is
/// registered or stored.
/// </summary>
public static class TalqPayloads
{
    public static (IReadOnlyList<TalqDevice>? Devices, TalqError? Error) ParseDevices(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Array)
        {
            return (null, TalqError.Payload("the body must be an array of Device"));
        }

        var devices = new List<TalqDevice>();
        var index = 0;
        foreach (var item in body.EnumerateArray())
        {
            var where = $"[{index++}]";
            if (item.ValueKind != JsonValueKind.Object
                || !TryUuid(item, "address", out var address)
                || !TryText(item, "name", out var name)
                || !TryText(item, "class", out var cls))
            {
                return (null, TalqError.Payload($"{where}: a Device needs 'address' (uuid), 'name' and 'class' (strings)"));
            }

            var functions = new Dictionary<string, string>(StringComparer.Ordinal);
            if (item.TryGetProperty("functions", out var list))
            {
                if (list.ValueKind != JsonValueKind.Array)
                {
                    return (null, TalqError.Payload($"{where}.functions must be an array"));
                }

                foreach (var f in list.EnumerateArray())
                {
                    if (f.ValueKind != JsonValueKind.Object || !TryText(f, "id", out var id) || !TryText(f, "type", out var type) || !functions.TryAdd(id, type))
                    {
                        return (null, TalqError.Payload($"{where}.functions: each needs a unique 'id' and a 'type' (strings)"));
                    }
                }
            }

            if (devices.Any(d => d.Address == address))
            {
                return (null, TalqError.Payload($"{where}: device {address} appears twice"));
            }

            devices.Add(new TalqDevice(address, name, cls, functions));
        }

        return (devices, null);
    }

    /// <summary>The entries of a LogReport we map; others (attributes we do not store) are skipped.</summary>
    public static (IReadOnlyList<TalqLogValue>? Values, TalqError? Error) ParseLogReport(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || (body.TryGetProperty("address", out var a) && a.ValueKind != JsonValueKind.String))
        {
            return (null, TalqError.Payload("the body must be a LogReport object ('address' a string)"));
        }

        var values = new List<TalqLogValue>();
        if (!body.TryGetProperty("entries", out var entries))
        {
            return (values, null);
        }

        if (entries.ValueKind != JsonValueKind.Array)
        {
            return (null, TalqError.Payload("'entries' must be an array"));
        }

        var index = 0;
        foreach (var entry in entries.EnumerateArray())
        {
            var where = $"entries[{index++}]";
            if (entry.ValueKind != JsonValueKind.Object)
            {
                return (null, TalqError.Payload($"{where} must be an object"));
            }

            if (entry.TryGetProperty("data", out var data) && !TryEntry(data, where, values, out var error))
            {
                return (null, error);
            }
        }

        return (values, null);
    }

    private static bool TryEntry(JsonElement data, string where, List<TalqLogValue> values, out TalqError? error)
    {
        error = null;
        if (data.ValueKind != JsonValueKind.Object || !TryText(data, "type", out var type) || !TryText(data, "srcAddress", out var src))
        {
            error = TalqError.Payload($"{where}.data needs 'type' and 'srcAddress'");
            return false;
        }

        DateTimeOffset? ts = null;
        if (data.TryGetProperty("timestamp", out var t))
        {
            if (t.ValueKind != JsonValueKind.String || !DateTimeOffset.TryParse(t.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                error = TalqError.Payload($"{where}.data.timestamp must be an RFC 3339 date-time");
                return false;
            }

            ts = parsed;
        }

        // srcAddress is {deviceAddress} or {deviceAddress}/{functionId}.
        var slash = src.IndexOf('/', StringComparison.Ordinal);
        if (!Guid.TryParse(slash < 0 ? src : src[..slash], out var device))
        {
            error = new TalqError(StatusCodes.Status422UnprocessableEntity, "relatedResourceNotFound", $"{where}.data.srcAddress '{src}' names no device");
            return false;
        }

        return type switch
        {
            "AttributeLogData" => TryAttribute(data, where, device, ts, values, out error),
            "EventLogData" => TryEvent(data, where, device, ts, values, out error),
            "StateChangeEventLogData" => true,
            _ => Fail(TalqError.Payload($"{where}.data.type must be AttributeLogData, EventLogData or StateChangeEventLogData"), out error),
        };
    }

    private static bool TryAttribute(JsonElement data, string where, Guid device, DateTimeOffset? ts, List<TalqLogValue> values, out TalqError? error)
    {
        error = null;
        if (!TryText(data, "attributeName", out var name) || !data.TryGetProperty("attributeValue", out var value) || value.ValueKind != JsonValueKind.Object || !TryText(value, "type", out _))
        {
            return Fail(TalqError.Payload($"{where}.data needs 'attributeName' and 'attributeValue' (an Attribute with 'type')"), out error);
        }

        if (value.TryGetProperty("timestamp", out var at) && at.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(at.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var measured))
        {
            ts ??= measured;
        }

        if (TalqAttributes.Map(name) is not { } field)
        {
            return true; // logged, but nothing of the streetlight profile: not stored (docs/integrations/talq.md)
        }

        if (!value.TryGetProperty("value", out var v))
        {
            return Fail(TalqError.Payload($"{where}.data.attributeValue has no 'value'"), out error);
        }

        var parsed = field.Kind switch
        {
            TalqFieldKind.Number when v.ValueKind == JsonValueKind.Number => new TalqLogValue(device, ts, field.Field, v.GetDouble(), null),
            TalqFieldKind.Flag when v.ValueKind is JsonValueKind.True or JsonValueKind.False => new TalqLogValue(device, ts, field.Field, null, v.GetBoolean()),
            // LevelState: { "name": "LevelState", "value": 0..100 }.
            TalqFieldKind.Level when v.ValueKind == JsonValueKind.Object && v.TryGetProperty("value", out var level) && level.ValueKind == JsonValueKind.Number => new TalqLogValue(device, ts, field.Field, level.GetDouble(), null),
            _ => null,
        };
        if (parsed is null)
        {
            return Fail(TalqError.Payload($"{where}.data.attributeValue.value has the wrong type for '{name}'"), out error);
        }

        values.Add(parsed);
        return true;
    }

    private static bool TryEvent(JsonElement data, string where, Guid device, DateTimeOffset? ts, List<TalqLogValue> values, out TalqError? error)
    {
        error = null;
        if (!TryText(data, "eventType", out var eventType))
        {
            return Fail(TalqError.Payload($"{where}.data needs 'eventType'"), out error);
        }

        if (TalqAttributes.MapEvent(eventType) is { } fault)
        {
            // startEndFlag true marks the end of the event: the fault is gone.
            var ended = data.TryGetProperty("startEndFlag", out var flag) && flag.ValueKind == JsonValueKind.True;
            values.Add(new TalqLogValue(device, ts, fault, null, !ended));
        }

        return true;
    }

    private static bool Fail(TalqError e, out TalqError? error)
    {
        error = e;
        return false;
    }

    private static bool TryText(JsonElement o, string name, out string text)
    {
        text = o.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : "";
        return v.ValueKind == JsonValueKind.String;
    }

    private static bool TryUuid(JsonElement o, string name, out Guid value)
    {
        value = Guid.Empty;
        return TryText(o, name, out var text) && Guid.TryParseExact(text, "D", out value);
    }
}

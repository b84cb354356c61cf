using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartCity.Worker.Talq;

/// <summary>A TALQ device as announced: address, name, class and its functions (id -> type).</summary>
public sealed record TalqDevice(Guid Address, string Name, string Class, IReadOnlyDictionary<string, string> Functions)
{
    /// <summary>Function types that make a device one of our street lights (streetlight profile).</summary>
    public static readonly IReadOnlySet<string> LampFunctions = new HashSet<string>(StringComparer.Ordinal) { "LampActuatorFunction", "LampMonitorFunction" };

    public bool IsLamp => Functions.Values.Any(LampFunctions.Contains);

    /// <summary>The profile it is registered with ("" for none: a gateway, a meter alone ...).</summary>
    public string Profile => TalqProfiles.Of(Functions);

    /// <summary>The device as announced, kept to answer GET and to merge a PATCH into.</summary>
    public JsonObject Json { get; init; } = [];
}

/// <summary>One logged value or event from a log report, already mapped to a streetlight profile field.</summary>
public sealed record TalqLogValue(Guid Device, DateTimeOffset? Timestamp, string Field, double? Number, bool? Flag);

/// <summary>One logged attribute as sent (an Attribute object), whether or not we store it: the last one answers GET.</summary>
public sealed record TalqLoggedValue(Guid Device, string FunctionId, string Name, JsonObject Value);

/// <summary>A log report: the values mapped to profile fields, and every attribute as logged.</summary>
public sealed record TalqLogReport(List<TalqLogValue> Values, List<TalqLoggedValue> Attributes)
{
    public IEnumerable<Guid> Devices => Values.Select(v => v.Device).Concat(Attributes.Select(a => a.Device)).Distinct();
}

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
            var (device, error) = ParseDevice(item, where);
            if (error is not null)
            {
                return (null, error);
            }

            if (devices.Any(d => d.Address == device!.Address))
            {
                return (null, TalqError.Payload($"{where}: device {device!.Address} appears twice"));
            }

            devices.Add(device!);
        }

        return (devices, null);
    }

    /// <summary>One Device (a PUT or PATCH of /devices/{deviceAddress}, or an item of a list).</summary>
    public static (TalqDevice? Device, TalqError? Error) ParseDevice(JsonElement item, string where = "the body")
    {
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

        return (new TalqDevice(address, name, cls, functions) { Json = (JsonObject)JsonNode.Parse(item.GetRawText())! }, null);
    }

    /// <summary>The entries of a LogReport: values we map to profile fields, and every logged attribute as sent.</summary>
    public static (TalqLogReport? Report, TalqError? Error) ParseLogReport(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object || (body.TryGetProperty("address", out var a) && a.ValueKind != JsonValueKind.String))
        {
            return (null, TalqError.Payload("the body must be a LogReport object ('address' a string)"));
        }

        var report = new TalqLogReport([], []);
        if (!body.TryGetProperty("entries", out var entries))
        {
            return (report, null);
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

            if (entry.TryGetProperty("data", out var data) && !TryEntry(data, where, report, out var error))
            {
                return (null, error);
            }
        }

        return (report, null);
    }

    private static bool TryEntry(JsonElement data, string where, TalqLogReport report, out TalqError? error)
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
            "AttributeLogData" => TryAttribute(data, where, (device, slash < 0 ? "" : src[(slash + 1)..]), ts, report, out error),
            "EventLogData" => TryEvent(data, where, device, ts, report.Values, out error),
            "StateChangeEventLogData" => true,
            _ => Fail(TalqError.Payload($"{where}.data.type must be AttributeLogData, EventLogData or StateChangeEventLogData"), out error),
        };
    }

    private static bool TryAttribute(JsonElement data, string where, (Guid Device, string Function) src, DateTimeOffset? ts, TalqLogReport report, out TalqError? error)
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

        var device = src.Device;
        if (src.Function.Length > 0)
        {
            report.Attributes.Add(new TalqLoggedValue(device, src.Function, name, (JsonObject)JsonNode.Parse(value.GetRawText())!));
        }

        if (TalqAttributes.Map(name) is not { } field)
        {
            return true; // logged, kept as the attribute's last value, but no profile field: not in InfluxDB (docs/integrations/talq.md)
        }

        if (!value.TryGetProperty("value", out var v))
        {
            return Fail(TalqError.Payload($"{where}.data.attributeValue has no 'value'"), out error);
        }

        var parsed = field.Kind switch
        {
            TalqFieldKind.Number when v.ValueKind == JsonValueKind.Number => new TalqLogValue(device, ts, field.Field, v.GetDouble(), null),
            TalqFieldKind.Flag when v.ValueKind is JsonValueKind.True or JsonValueKind.False => new TalqLogValue(device, ts, field.Field, null, v.GetBoolean()),
            TalqFieldKind.Binary when v.ValueKind == JsonValueKind.String && v.GetString() is "ON" or "OFF" => new TalqLogValue(device, ts, field.Field, null, v.GetString() == "ON"),
            // LevelState: { "name": "LevelState", "value": 0..100 }.
            TalqFieldKind.Level when v.ValueKind == JsonValueKind.Object && v.TryGetProperty("value", out var level) && level.ValueKind == JsonValueKind.Number => new TalqLogValue(device, ts, field.Field, level.GetDouble(), null),
            _ => null,
        };
        if (parsed is null)
        {
            return Fail(TalqError.Payload($"{where}.data.attributeValue.value has the wrong type for '{name}'"), out error);
        }

        report.Values.Add(parsed);
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

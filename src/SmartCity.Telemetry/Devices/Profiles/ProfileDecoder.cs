using System.Buffers;

namespace SmartCity.Telemetry.Devices.Profiles;

/// <summary>
/// Decodes one message kind of one profile: the envelope (<c>v</c>, <c>ts</c>), then each declared
/// field in order, each checked for presence, type and range. The point's tags come from the
/// validated topic only.
/// </summary>
public sealed class ProfileDecoder : IDeviceDecoder
{
    private readonly DeviceProfile _profile;
    private readonly MessageSpec _spec;
    private readonly DecodingOptions _options;
    private readonly string _kindName;

    // Per message, the point gets at most this many fields (a flags field writes one per code), and
    // the stored name of each flag is built once here instead of once per message.
    private readonly int _maxFields;
    private readonly string[][] _flagFields;

    public ProfileDecoder(DeviceProfile profile, string kind, DecodingOptions options)
    {
        _profile = profile;
        _spec = profile.Messages[kind];
        _options = options;
        _kindName = kind;
        Kind = kind == "event" ? MessageKind.Event : MessageKind.Telemetry;
        _flagFields = [.. _spec.Fields.Select(f => f.Type == FieldKind.Flags ? f.Values!.Select(f.FlagField).ToArray() : [])];
        _maxFields = _spec.Fields.Sum(f => f.Type == FieldKind.Flags ? f.Values!.Count : 1);
    }

    public string DeviceType => _profile.DeviceType;

    public string Sector => _profile.Sector;

    public MessageKind Kind { get; }

    public DeviceProfile Profile => _profile;

    private int MaxDepth => _options.MaxJsonDepth;

    public DecodeResult Decode(in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt) =>
        JsonPayload.Decode(payload, MaxDepth, (Self: this, Topic: topic, ReceivedAt: receivedAt), static (s, json) => s.Self.Decode(s.Topic, json, s.ReceivedAt));

    private DecodeResult Decode(in DeviceTopic topic, JsonPayload json, DateTimeOffset receivedAt)
    {
        if (!json.TryGetInteger("v", 0, int.MaxValue, required: true, out var version, out var rejection))
        {
            return rejection;
        }

        if (!_spec.Versions.Contains((int)version!.Value))
        {
            return DecodeResult.Rejected(
                RejectReason.UnsupportedVersion,
                $"'v' {version} is not supported by {_profile.Id} {_kindName} (supported: {string.Join(", ", _spec.Versions)})");
        }

        if (!json.TryGetTimestamp("ts", receivedAt, _options.MaxMessageAge, _options.MaxClockSkew, out var ts, out rejection)
            || !Envelope.TryCheckDevice(json, topic, out rejection))
        {
            return rejection;
        }

        var point = Point.ForDevice(_spec.Measurement, ts, topic, _maxFields);
        var fields = _spec.Fields;
        for (var i = 0; i < fields.Count; i++)
        {
            if (!AddField(point, fields[i], _flagFields[i], json, _options.MaxStringLength, out rejection))
            {
                return rejection;
            }
        }

        return DecodeResult.Accepted(point);
    }

    /// <summary>Reads one field as its kind says and adds it to the point (hot path: no allocation on success).</summary>
    private static bool AddField(Point point, FieldSpec f, string[] flagFields, JsonPayload json, int maxStringLength, out DecodeResult rejection) =>
        f.Type switch
        {
            FieldKind.Float => AddFloat(point, f, json, out rejection),
            FieldKind.Int => AddInteger(point, f, json, out rejection),
            FieldKind.Bool => AddBoolean(point, f, json, out rejection),
            FieldKind.String or FieldKind.Enum => AddText(point, f, json, maxStringLength, out rejection),
            _ => AddFlags(point, f, flagFields, json, out rejection),
        };

    private static bool AddFloat(Point point, FieldSpec f, JsonPayload json, out DecodeResult rejection)
    {
        if (!json.TryGetNumber(f.Name, f.Min ?? double.MinValue, f.Max ?? double.MaxValue, f.Required, out var number, out rejection))
        {
            return false;
        }

        if (number is { } n)
        {
            point.Field(f.StoredName, n);
        }

        return true;
    }

    private static bool AddInteger(Point point, FieldSpec f, JsonPayload json, out DecodeResult rejection)
    {
        var min = f.Min is { } lo ? (long)Math.Ceiling(lo) : long.MinValue;
        var max = f.Max is { } hi ? (long)Math.Floor(hi) : long.MaxValue;
        if (!json.TryGetInteger(f.Name, min, max, f.Required, out var integer, out rejection))
        {
            return false;
        }

        if (integer is { } i)
        {
            point.Field(f.StoredName, i);
        }

        return true;
    }

    private static bool AddBoolean(Point point, FieldSpec f, JsonPayload json, out DecodeResult rejection)
    {
        if (!json.TryGetBoolean(f.Name, f.Required, out var boolean, out rejection))
        {
            return false;
        }

        if (boolean is { } b)
        {
            point.Field(f.StoredName, b);
        }

        return true;
    }

    /// <summary>A string, or an enum: a string that must be one of the profile's values.</summary>
    private static bool AddText(Point point, FieldSpec f, JsonPayload json, int maxStringLength, out DecodeResult rejection)
    {
        if (!json.TryGetString(f.Name, f.Required, Math.Min(f.MaxLength, maxStringLength), out var text, out rejection))
        {
            return false;
        }

        if (text is null)
        {
            return true;
        }

        if (f.Type == FieldKind.Enum && !f.Values!.Contains(text))
        {
            rejection = DecodeResult.Rejected(
                RejectReason.OutOfRange,
                $"'{f.Name}' must be one of {string.Join(", ", f.Values!)}, was \"{JsonPayload.Truncate(text, 40)}\"");
            return false;
        }

        point.Field(f.StoredName, text);
        return true;
    }

    private static bool AddFlags(Point point, FieldSpec f, string[] flagFields, JsonPayload json, out DecodeResult rejection)
    {
        // Which codes are set, without a string per code (JsonPayload.TryGetFlags gives the checks and their order).
        Span<bool> set = f.Values!.Count <= 256 ? stackalloc bool[f.Values.Count] : new bool[f.Values.Count];
        if (!json.TryGetFlags(f.Name, f.Values, set, out rejection))
        {
            return false;
        }

        if (f.Required && !json.Has(f.Name))
        {
            rejection = DecodeResult.Rejected(RejectReason.MissingField, $"'{f.Name}' is required");
            return false;
        }

        // Every flag is written on every point, so "failing now" is a last() query, not a search for absences.
        for (var k = 0; k < flagFields.Length; k++)
        {
            point.Field(flagFields[k], set[k]);
        }

        return true;
    }
}

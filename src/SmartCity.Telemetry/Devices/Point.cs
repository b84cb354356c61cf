using System.Globalization;

namespace SmartCity.Telemetry.Devices;

/// <summary>A field value with its InfluxDB type kept explicit, so a field never changes type between points.</summary>
public readonly record struct FieldValue
{
    private FieldValue(FieldType type, double number, long integer, bool boolean, string? text)
    {
        Type = type;
        Number = number;
        Integer = integer;
        Boolean = boolean;
        Text = text;
    }

    public FieldType Type { get; }

    public double Number { get; }

    public long Integer { get; }

    public bool Boolean { get; }

    public string? Text { get; }

    public static FieldValue Float(double value) => new(FieldType.Float, value, 0, false, null);

    public static FieldValue Int(long value) => new(FieldType.Integer, 0, value, false, null);

    public static FieldValue Bool(bool value) => new(FieldType.Boolean, 0, 0, value, null);

    public static FieldValue String(string value) => new(FieldType.String, 0, 0, false, value);

    public override string ToString() => Type switch
    {
        FieldType.Float => Number.ToString("R", CultureInfo.InvariantCulture),
        FieldType.Integer => Integer.ToString(CultureInfo.InvariantCulture) + "i",
        FieldType.Boolean => Boolean ? "true" : "false",
        _ => "\"" + Text + "\"",
    };
}

public enum FieldType
{
    Float,
    Integer,
    Boolean,
    String,
}

/// <summary>
/// One time-series point. Tags are kept sorted by key (InfluxDB's preferred order, and a stable
/// line for identical input, which keeps redelivered messages idempotent).
/// </summary>
public sealed class Point
{
    private readonly SortedList<string, string> _tags = new(StringComparer.Ordinal);
    private readonly List<KeyValuePair<string, FieldValue>> _fields = [];

    public Point(string measurement, DateTimeOffset timestamp)
    {
        Measurement = measurement;
        Timestamp = timestamp;
    }

    public string Measurement { get; }

    /// <summary>A device's point: the five identity tags of the schema, all from the validated topic.</summary>
    public static Point ForDevice(string measurement, DateTimeOffset timestamp, in DeviceTopic topic) =>
        new Point(measurement, timestamp)
            .Tag("sector", topic.Sector)
            .Tag("district", topic.District)
            .Tag("site", topic.Site)
            .Tag("device_type", topic.DeviceType)
            .Tag("device_id", topic.DeviceId);

    /// <summary>The device's own time (or, for dead letters, the time of receipt).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Sub-millisecond part added to <see cref="Timestamp"/>, in nanoseconds (used to keep dead letters unique).</summary>
    public long ExtraNanoseconds { get; init; }

    public IEnumerable<KeyValuePair<string, string>> Tags => _tags;

    public IReadOnlyList<KeyValuePair<string, FieldValue>> Fields => _fields;

    public Point Tag(string key, string value)
    {
        _tags[key] = value;
        return this;
    }

    public Point Field(string key, FieldValue value)
    {
        _fields.Add(new(key, value));
        return this;
    }

    public Point Field(string key, double value) => Field(key, FieldValue.Float(value));

    public Point Field(string key, long value) => Field(key, FieldValue.Int(value));

    public Point Field(string key, bool value) => Field(key, FieldValue.Bool(value));

    public Point Field(string key, string value) => Field(key, FieldValue.String(value));

    public string? GetTag(string key) => _tags.TryGetValue(key, out var v) ? v : null;

    public FieldValue? GetField(string key)
    {
        foreach (var (k, v) in _fields)
        {
            if (k == key)
            {
                return v;
            }
        }

        return null;
    }

    /// <summary>Unix time in nanoseconds, the precision every line is written with.</summary>
    public long UnixNanoseconds => (Timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100 + ExtraNanoseconds;

    public override string ToString() => LineProtocol.Format(this);
}

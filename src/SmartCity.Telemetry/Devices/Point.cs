using System.Globalization;

namespace SmartCity.Telemetry.Devices;

/// <summary>A field value with its InfluxDB type kept explicit, so a field never changes type between points.</summary>
public readonly record struct FieldValue
{
    // One 8-byte slot holds the number, the integer or the boolean (by type): 24 bytes instead of 40,
    // and a point built for every message keeps a dozen of these.
    private readonly long _bits;

    private FieldValue(FieldType type, long bits, string? text)
    {
        Type = type;
        _bits = bits;
        Text = text;
    }

    public FieldType Type { get; }

    public double Number => Type == FieldType.Float ? BitConverter.Int64BitsToDouble(_bits) : 0;

    public long Integer => Type == FieldType.Integer ? _bits : 0;

    public bool Boolean => Type == FieldType.Boolean && _bits != 0;

    public string? Text { get; }

    public static FieldValue Float(double value) => new(FieldType.Float, BitConverter.DoubleToInt64Bits(value), null);

    public static FieldValue Int(long value) => new(FieldType.Integer, value, null);

    public static FieldValue Bool(bool value) => new(FieldType.Boolean, value ? 1 : 0, null);

    public static FieldValue String(string value) => new(FieldType.String, 0, value);

    // Equality of the values, not of the bits: 0.0 equals -0.0 and NaN equals NaN, as double.Equals says.
    public bool Equals(FieldValue other) =>
        Type == other.Type && Number.Equals(other.Number) && Integer == other.Integer && Boolean == other.Boolean
        && string.Equals(Text, other.Text, StringComparison.Ordinal);

    public override int GetHashCode() => HashCode.Combine(Type, Number, Integer, Boolean, Text);

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
    // A point is built for every message: its lists are sized by the caller where the count is
    // known (a device point has five tags, a profile knows its fields), so they never grow.
    // Tags stay a handful, so a sorted list with an insertion step beats a SortedList's two arrays.
    private readonly List<KeyValuePair<string, string>> _tags;
    private readonly List<KeyValuePair<string, FieldValue>> _fields;

    public Point(string measurement, DateTimeOffset timestamp)
        : this(measurement, timestamp, tagCapacity: 4, fieldCapacity: 4)
    {
    }

    /// <param name="tagCapacity">Tags the point will get (a hint: more may be added).</param>
    /// <param name="fieldCapacity">Fields the point will get (a hint: more may be added).</param>
    public Point(string measurement, DateTimeOffset timestamp, int tagCapacity, int fieldCapacity)
    {
        Measurement = measurement;
        Timestamp = timestamp;
        _tags = new(tagCapacity);
        _fields = new(fieldCapacity);
    }

    public string Measurement { get; }

    /// <summary>A device's point: the five identity tags of the schema, all from the validated topic.</summary>
    public static Point ForDevice(string measurement, DateTimeOffset timestamp, in DeviceTopic topic) =>
        ForDevice(measurement, timestamp, topic, fieldCapacity: 4);

    /// <inheritdoc cref="ForDevice(string, DateTimeOffset, in DeviceTopic)"/>
    /// <param name="fieldCapacity">Fields the point will get (a hint: more may be added).</param>
    public static Point ForDevice(string measurement, DateTimeOffset timestamp, in DeviceTopic topic, int fieldCapacity) =>
        new Point(measurement, timestamp, tagCapacity: 5, fieldCapacity)
            .Tag("sector", topic.Sector)
            .Tag("district", topic.District)
            .Tag("site", topic.Site)
            .Tag("device_type", topic.DeviceType)
            .Tag("device_id", topic.DeviceId);

    /// <summary>The device's own time (or, for dead letters, the time of receipt).</summary>
    public DateTimeOffset Timestamp { get; }

    /// <summary>Sub-millisecond part added to <see cref="Timestamp"/>, in nanoseconds (used to keep dead letters unique).</summary>
    public long ExtraNanoseconds { get; init; }

    /// <summary>Tags sorted by key (ordinal), each key once.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Tags => _tags;

    public IReadOnlyList<KeyValuePair<string, FieldValue>> Fields => _fields;

    // The concrete lists, so the formatter's loops need no boxed enumerator.
    internal List<KeyValuePair<string, string>> TagList => _tags;

    internal List<KeyValuePair<string, FieldValue>> FieldList => _fields;

    /// <summary>Adds a tag, or replaces the value of a tag with the same key.</summary>
    public Point Tag(string key, string value)
    {
        ArgumentNullException.ThrowIfNull(key);
        var index = IndexOfTag(key);
        if (index >= 0)
        {
            _tags[index] = new(key, value);
        }
        else
        {
            _tags.Insert(~index, new(key, value));
        }

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

    public string? GetTag(string key)
    {
        var index = IndexOfTag(key);
        return index >= 0 ? _tags[index].Value : null;
    }

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

    /// <summary>The tag's index, or the bitwise complement of where it belongs (as Array.BinarySearch).</summary>
    private int IndexOfTag(string key)
    {
        // Tags arrive mostly in order or nearly so and are few: a linear scan from the end is enough.
        var i = _tags.Count - 1;
        while (i >= 0)
        {
            var c = string.CompareOrdinal(_tags[i].Key, key);
            if (c == 0)
            {
                return i;
            }

            if (c < 0)
            {
                break;
            }

            i--;
        }

        return ~(i + 1);
    }
}

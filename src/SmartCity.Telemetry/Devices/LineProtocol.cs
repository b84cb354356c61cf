using System.Buffers;
using System.Globalization;
using System.Text;

namespace SmartCity.Telemetry.Devices;

/// <summary>
/// InfluxDB line protocol, nanosecond precision. Escaping follows InfluxDB's rules (and Telegraf's
/// serializer where InfluxDB is silent): no input string can end a line early, add a tag or a field,
/// or corrupt the point next to it.
/// </summary>
/// <remarks>
/// This runs once per accepted message on the receive path, so <see cref="Format"/> allocates only
/// the line itself: numbers are formatted into a stack buffer (not <c>ToString</c> per field), the
/// builder is reused per thread, and strings without anything to escape are copied whole.
/// </remarks>
public static class LineProtocol
{
    // A street-light line is about 400 characters; lines longer than this (dead letters with long
    // excerpts) use a builder that is not kept, so one huge line does not pin its buffer forever.
    private const int CachedBuilderCapacity = 1024;
    private const int MaxCachedBuilderCapacity = 8 * 1024;

    // Everything the slow path treats specially: control characters (char.IsControl: U+0000-U+001F,
    // U+007F-U+009F) and the separators and quotes of any escape kind. A string with none of these is
    // written as it is.
    private static readonly SearchValues<char> Special = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u0009\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F" +
        "\u007F\u0080\u0081\u0082\u0083\u0084\u0085\u0086\u0087\u0088\u0089\u008A\u008B\u008C\u008D\u008E\u008F" +
        "\u0090\u0091\u0092\u0093\u0094\u0095\u0096\u0097\u0098\u0099\u009A\u009B\u009C\u009D\u009E\u009F" +
        ", =\"\\");

    [ThreadStatic]
    private static StringBuilder? t_builder;

    public static string Format(Point point)
    {
        var sb = RentBuilder();
        try
        {
            Append(sb, point);
            return sb.ToString();
        }
        finally
        {
            ReturnBuilder(sb);
        }
    }

    /// <summary>
    /// The same line as <see cref="Format"/>, as UTF-8 into <paramref name="destination"/> with no
    /// string in between (the bytes <c>Encoding.UTF8.GetBytes(Format(point))</c> gives). False, with
    /// nothing usable written, when it does not fit; throws as <see cref="Format"/> does for a bad point.
    /// </summary>
    public static bool TryFormatUtf8(Point point, Span<byte> destination, out int bytesWritten)
    {
        var sb = RentBuilder();
        try
        {
            Append(sb, point);
            var chunks = sb.GetChunks();
            if (chunks.MoveNext() && chunks.Current.Length == sb.Length)
            {
                // The common case: the reused builder holds the line in one chunk.
                return Encoding.UTF8.TryGetBytes(chunks.Current.Span, destination, out bytesWritten);
            }

            // A line that made the builder grow spans several chunks (once per size): a surrogate pair
            // may be cut between two, so it is encoded from one string, as Format's caller would.
            return Encoding.UTF8.TryGetBytes(sb.ToString(), destination, out bytesWritten);
        }
        finally
        {
            ReturnBuilder(sb);
        }
    }

    private static StringBuilder RentBuilder()
    {
        var sb = t_builder ?? new StringBuilder(CachedBuilderCapacity);
        t_builder = null;
        return sb;
    }

    private static void ReturnBuilder(StringBuilder sb)
    {
        // Clear() on a builder that grew into several chunks copies them into one array (once);
        // from then on it is a single chunk again and clearing is free.
        sb.Clear();
        if (sb.Capacity <= MaxCachedBuilderCapacity)
        {
            t_builder = sb;
        }
    }

    public static void Append(StringBuilder sb, Point point)
    {
        var fields = point.FieldList;
        if (fields.Count == 0)
        {
            throw new ArgumentException("a point needs at least one field", nameof(point));
        }

        AppendEscaped(sb, point.Measurement, EscapeKind.Measurement);
        AppendTags(sb, point.TagList);

        // Room for any double in "R" format (at most 24 characters) or any long (at most 20).
        Span<char> number = stackalloc char[32];
        for (var i = 0; i < fields.Count; i++)
        {
            var (key, value) = fields[i];
            sb.Append(i == 0 ? ' ' : ',');
            AppendEscaped(sb, key, EscapeKind.Key);
            sb.Append('=');
            if (!TryAppendFieldValue(sb, value, number))
            {
                throw new ArgumentException($"field '{key}' is not finite; decoders must reject it", nameof(point));
            }
        }

        point.UnixNanoseconds.TryFormat(number, out var length, default, CultureInfo.InvariantCulture);
        sb.Append(' ').Append(number[..length]);
    }

    private static void AppendTags(StringBuilder sb, List<KeyValuePair<string, string>> tags)
    {
        for (var i = 0; i < tags.Count; i++)
        {
            var (key, value) = tags[i];

            // An empty tag value is not allowed by the protocol; a missing tag means the same thing.
            if (value.Length == 0)
            {
                continue;
            }

            sb.Append(',');
            AppendEscaped(sb, key, EscapeKind.Key);
            sb.Append('=');
            AppendEscaped(sb, value, EscapeKind.Key);
        }
    }

    /// <summary>
    /// One field's value; false for a float that is not finite (the protocol has no NaN or infinity).
    /// <paramref name="number"/> is the caller's stack buffer, so formatting allocates nothing.
    /// </summary>
    private static bool TryAppendFieldValue(StringBuilder sb, in FieldValue value, Span<char> number)
    {
        int written;
        switch (value.Type)
        {
            case FieldType.Float:
                if (!double.IsFinite(value.Number))
                {
                    return false;
                }

                // "R" kept on purpose: it is the format every stored line so far was written with.
                value.Number.TryFormat(number, out written, "R", CultureInfo.InvariantCulture);
                sb.Append(number[..written]);
                break;
            case FieldType.Integer:
                value.Integer.TryFormat(number, out written, default, CultureInfo.InvariantCulture);
                sb.Append(number[..written]).Append('i');
                break;
            case FieldType.Boolean:
                sb.Append(value.Boolean ? "true" : "false");
                break;
            default:
                sb.Append('"');
                AppendEscaped(sb, value.Text ?? "", EscapeKind.StringField);
                sb.Append('"');
                break;
        }

        return true;
    }

    private enum EscapeKind
    {
        Measurement,
        Key,
        StringField,
    }

    private static void AppendEscaped(StringBuilder sb, string text, EscapeKind kind)
    {
        var value = text.AsSpan();
        if (kind != EscapeKind.StringField)
        {
            // A trailing backslash would escape the separator that follows it.
            value = value.TrimEnd('\\');
        }

        var first = value.IndexOfAny(Special);
        if (first < 0)
        {
            sb.Append(value);
            return;
        }

        sb.Append(value[..first]);
        foreach (var c in value[first..])
        {
            switch (c)
            {
                case '\n':
                    sb.Append(@"\n");
                    break;
                case '\r':
                    sb.Append(@"\r");
                    break;
                case '\t':
                    sb.Append(@"\t");
                    break;
                case '\f':
                    sb.Append(@"\f");
                    break;
                case ',' when kind != EscapeKind.StringField:
                case ' ' when kind != EscapeKind.StringField:
                case '=' when kind == EscapeKind.Key:
                case '"' when kind == EscapeKind.StringField:
                case '\\' when kind == EscapeKind.StringField:
                    sb.Append('\\').Append(c);
                    break;
                default:
                    // Other control characters have no meaning in a time series and confuse readers.
                    sb.Append(char.IsControl(c) ? '\uFFFD' : c);
                    break;
            }
        }
    }
}

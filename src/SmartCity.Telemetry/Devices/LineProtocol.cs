using System.Globalization;
using System.Text;

namespace SmartCity.Telemetry.Devices;

/// <summary>
/// InfluxDB line protocol, nanosecond precision. Escaping follows InfluxDB's rules (and Telegraf's
/// serializer where InfluxDB is silent): no input string can end a line early, add a tag or a field,
/// or corrupt the point next to it.
/// </summary>
public static class LineProtocol
{
    public static string Format(Point point)
    {
        var sb = new StringBuilder(160);
        Append(sb, point);
        return sb.ToString();
    }

    public static void Append(StringBuilder sb, Point point)
    {
        if (point.Fields.Count == 0)
        {
            throw new ArgumentException("a point needs at least one field", nameof(point));
        }

        AppendEscaped(sb, point.Measurement, EscapeKind.Measurement);
        foreach (var (key, value) in point.Tags)
        {
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

        var first = true;
        foreach (var (key, value) in point.Fields)
        {
            sb.Append(first ? ' ' : ',');
            first = false;
            AppendEscaped(sb, key, EscapeKind.Key);
            sb.Append('=');
            switch (value.Type)
            {
                case FieldType.Float:
                    if (!double.IsFinite(value.Number))
                    {
                        throw new ArgumentException($"field '{key}' is not finite; decoders must reject it", nameof(point));
                    }

                    sb.Append(value.Number.ToString("R", CultureInfo.InvariantCulture));
                    break;
                case FieldType.Integer:
                    sb.Append(value.Integer.ToString(CultureInfo.InvariantCulture)).Append('i');
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
        }

        sb.Append(' ').Append(point.UnixNanoseconds.ToString(CultureInfo.InvariantCulture));
    }

    private enum EscapeKind
    {
        Measurement,
        Key,
        StringField,
    }

    private static void AppendEscaped(StringBuilder sb, string value, EscapeKind kind)
    {
        if (kind != EscapeKind.StringField)
        {
            // A trailing backslash would escape the separator that follows it.
            value = value.TrimEnd('\\');
        }

        foreach (var c in value)
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

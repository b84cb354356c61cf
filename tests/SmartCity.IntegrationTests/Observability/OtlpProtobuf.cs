using System.Buffers.Binary;
using System.Text;

namespace SmartCity.IntegrationTests.Observability;

/// <summary>
/// Just enough of the protobuf wire format and of the OTLP messages (opentelemetry-proto v1:
/// collector/metrics/v1, collector/trace/v1) to read what the worker exported: metric names with
/// their number data points, span names with their trace ids, and the resource's service.name.
/// No OTLP proto package is available here, so the field numbers are taken from the .proto files.
/// </summary>
public static class OtlpProtobuf
{
    /// <summary>One field: number, wire type, and its value (varint/fixed as <see cref="Value"/>, length-delimited as <see cref="Bytes"/>).</summary>
    public readonly record struct Field(int Number, int WireType, ulong Value, ReadOnlyMemory<byte> Bytes)
    {
        public string Text => Encoding.UTF8.GetString(Bytes.Span);
    }

    /// <summary>A metric's data point: its value (int or double) and its attributes.</summary>
    public sealed record DataPoint(double Value, IReadOnlyDictionary<string, string> Attributes);

    public static IEnumerable<Field> Fields(ReadOnlyMemory<byte> message)
    {
        var position = 0;
        while (position < message.Length)
        {
            var key = Varint(message.Span, ref position);
            var number = (int)(key >> 3);
            var wireType = (int)(key & 7);
            switch (wireType)
            {
                case 0:
                    yield return new Field(number, wireType, Varint(message.Span, ref position), default);
                    break;
                case 1:
                    yield return new Field(number, wireType, BinaryPrimitives.ReadUInt64LittleEndian(message.Span[position..]), default);
                    position += 8;
                    break;
                case 2:
                    var length = (int)Varint(message.Span, ref position);
                    yield return new Field(number, wireType, 0, message.Slice(position, length));
                    position += length;
                    break;
                case 5:
                    yield return new Field(number, wireType, BinaryPrimitives.ReadUInt32LittleEndian(message.Span[position..]), default);
                    position += 4;
                    break;
                default:
                    throw new FormatException($"wire type {wireType} at byte {position}: not a protobuf message");
            }
        }
    }

    /// <summary>ExportMetricsServiceRequest: every number data point of every Sum and Gauge metric, by metric name.</summary>
    public static ILookup<string, DataPoint> Metrics(byte[] request) =>
        (from resourceMetrics in Sub(request, 1)
         from scopeMetrics in Sub(resourceMetrics, 2)
         from metric in Sub(scopeMetrics, 2)
         let name = Fields(metric).First(f => f.Number == 1).Text
         from data in Fields(metric).Where(f => f.Number is 5 or 7) // gauge = 5, sum = 7
         from point in Sub(data.Bytes, 1)
         select (name, Point(point))).ToLookup(p => p.name, p => p.Item2);

    /// <summary>ExportTraceServiceRequest: every span as (name, trace id in hex, parent span id in hex or empty).</summary>
    public static IEnumerable<(string Name, string TraceId, string ParentSpanId)> Spans(byte[] request) =>
        from resourceSpans in Sub(request, 1)
        from scopeSpans in Sub(resourceSpans, 2)
        from span in Sub(scopeSpans, 2)
        let fields = Fields(span).ToList()
        select (
            fields.First(f => f.Number == 5).Text,
            Convert.ToHexString(fields.First(f => f.Number == 1).Bytes.Span),
            fields.FirstOrDefault(f => f.Number == 4).Bytes is { Length: > 0 } parent ? Convert.ToHexString(parent.Span) : "");

    /// <summary>The resources' string attributes (service.name...), from either request.</summary>
    public static IEnumerable<IReadOnlyDictionary<string, string>> Resources(byte[] request) =>
        from resourceSomething in Sub(request, 1)
        from resource in Sub(resourceSomething, 1)
        select Attributes(Sub(resource, 1));

    private static DataPoint Point(ReadOnlyMemory<byte> point)
    {
        var fields = Fields(point).ToList();
        // NumberDataPoint: as_double = 4 (double), as_int = 6 (sfixed64), attributes = 7.
        var value = fields.FirstOrDefault(f => f.Number is 4 or 6) is { Number: 4 or 6 } v
            ? v.Number == 4 ? BitConverter.UInt64BitsToDouble(v.Value) : unchecked((long)v.Value)
            : double.NaN;
        return new DataPoint(value, Attributes(fields.Where(f => f.Number == 7).Select(f => f.Bytes)));
    }

    /// <summary>KeyValue (key = 1, value = 2: AnyValue with string_value = 1, int_value = 3).</summary>
    private static Dictionary<string, string> Attributes(IEnumerable<ReadOnlyMemory<byte>> keyValues) =>
        keyValues.Select(kv => Fields(kv).ToList()).ToDictionary(
            kv => kv.First(f => f.Number == 1).Text,
            kv => kv.FirstOrDefault(f => f.Number == 2).Bytes is { Length: > 0 } any && Fields(any).FirstOrDefault() is { } value
                ? value.WireType == 2 ? value.Text : value.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)
                : "");

    private static IEnumerable<ReadOnlyMemory<byte>> Sub(ReadOnlyMemory<byte> message, int number) =>
        Fields(message).Where(f => f.Number == number && f.WireType == 2).Select(f => f.Bytes);

    private static ulong Varint(ReadOnlySpan<byte> buffer, ref int position)
    {
        ulong result = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = buffer[position++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }
    }
}

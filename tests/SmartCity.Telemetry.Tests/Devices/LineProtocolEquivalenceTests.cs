using System.Globalization;
using System.Text;
using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>
/// The formatter was rewritten to allocate only the line; these tests hold it to the exact bytes of
/// the formatter it replaced (kept below as <see cref="LegacyFormat"/>) over many random points, and
/// hold the new one to its allocation budget.
/// </summary>
public class LineProtocolEquivalenceTests
{
    // Characters that exercise every escaping rule: separators, quotes, backslashes, the escaped
    // control characters, other control characters (C0, DEL, C1), non-ASCII, a surrogate pair.
    private static readonly string[] Alphabet =
    [
        "a", "Z", "0", "9", "_", "-", ".", " ", ",", "=", "\"", "\\", "\\\\", "\n", "\r", "\t", "\f",
        "\u0000", "\u0001", "\u001b", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f", "\u00a0", "é",
        "\u2028", "\uFFFD", "😀", "lamp-0042", "north", "street_light",
    ];

    private static readonly double[] SpecialDoubles =
    [
        0.0, -0.0, 1.0, -1.0, 0.1 + 0.2, 1e-7, 1e-5, 1e15, 1e16, 1e17, 1e21, 123456789.125,
        double.MaxValue, double.MinValue, double.Epsilon, -double.Epsilon, 2.2250738585072014E-308,
        9007199254740993.0, 4.35, 0.95, 229.8, 1234.5, long.MaxValue, long.MinValue,
    ];

    private static readonly long[] SpecialLongs = [0, 1, -1, long.MaxValue, long.MinValue, int.MaxValue, int.MinValue, 9_007_199_254_740_993];

    [Fact]
    public void Format_RandomPoints_SameLineAsTheFormerFormatter()
    {
        var random = new Random(20261129);
        for (var n = 0; n < 20_000; n++)
        {
            var point = RandomPoint(random, out var expectedTags);

            Assert.Equal(expectedTags, point.Tags);
            Assert.Equal(LegacyFormat(point), LineProtocol.Format(point));
        }
    }

    [Fact]
    public void TryFormatUtf8_RandomPoints_SameBytesAsTheFormattedLineInUtf8()
    {
        // The spool stores what the ingest stage writes this way: it must be the string path's bytes exactly
        // (lone surrogates and all: both end as U+FFFD's bytes), or a redelivered message would differ.
        var random = new Random(20261207);
        var destination = new byte[64 * 1024];
        for (var n = 0; n < 5_000; n++)
        {
            var point = RandomPoint(random, out _);
            if (random.Next(10) == 0)
            {
                point.Field("lone", "a\uD800b\uDC00" + (random.Next(2) == 0 ? "\uD83D" : "")).Field("long", new string('x', random.Next(500, 12_000)) + "😀");
            }

            var expected = Encoding.UTF8.GetBytes(LineProtocol.Format(point));
            Assert.True(LineProtocol.TryFormatUtf8(point, destination, out var written));
            Assert.Equal(expected, destination[..written]);
        }
    }

    [Fact]
    public void TryFormatUtf8_DestinationTooSmall_FalseAndTheNextLineIsClean()
    {
        var point = StreetLightPoint();
        var expected = Encoding.UTF8.GetBytes(LineProtocol.Format(point));

        Assert.False(LineProtocol.TryFormatUtf8(point, new byte[expected.Length - 1], out _));
        var exact = new byte[expected.Length];
        Assert.True(LineProtocol.TryFormatUtf8(point, exact, out var written));
        Assert.Equal(expected.Length, written);
        Assert.Equal(expected, exact);

        var bad = new Point("m", point.Timestamp).Field("f", double.NaN);
        Assert.Throws<ArgumentException>(() => LineProtocol.TryFormatUtf8(bad, exact, out _));
        Assert.True(LineProtocol.TryFormatUtf8(point, exact, out written));
        Assert.Equal(expected, exact[..written]);
    }

    [Fact]
    public void Format_ThrowsWhereTheFormerFormatterThrew_AndTheNextLineIsClean()
    {
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(1_764_367_170_250);
        foreach (var bad in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            var p = new Point("m", ts).Tag("t", "x").Field("a", 1L).Field("f", bad);
            Assert.Throws<ArgumentException>(() => LegacyFormat(p));
            Assert.Throws<ArgumentException>(() => LineProtocol.Format(p));
        }

        var empty = new Point("m", ts).Tag("t", "x");
        Assert.Throws<ArgumentException>(() => LegacyFormat(empty));
        Assert.Throws<ArgumentException>(() => LineProtocol.Format(empty));

        // The reused per-thread builder must not carry the half-written line of a failed call.
        var good = new Point("m", ts).Field("f", 1.5);
        Assert.Equal("m f=1.5 1764367170250000000", LineProtocol.Format(good));
    }

    [Fact]
    public void Format_LongLines_SameAsFormerFormatter_AndBuilderStillReusable()
    {
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(1_764_367_170_250);
        var huge = new Point("dead_letter", ts).Tag("reason", "MalformedJson").Field("payload_excerpt", new string('x', 40_000) + "\"\n");
        Assert.Equal(LegacyFormat(huge), LineProtocol.Format(huge));

        var small = StreetLightPoint();
        Assert.Equal(LegacyFormat(small), LineProtocol.Format(small));
    }

    [Fact]
    public void Format_StreetLightPoint_AllocatesLittleMoreThanTheLine()
    {
        var point = StreetLightPoint();
        var line = LineProtocol.Format(point);
        Assert.Equal(LegacyFormat(point), line);

        for (var i = 0; i < 200; i++)
        {
            LineProtocol.Format(point);
        }

        const int Calls = 2_000;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < Calls; i++)
        {
            LineProtocol.Format(point);
        }

        var perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / (double)Calls;

        // A string of n characters takes 2n bytes plus a header (about 22 bytes on 64-bit). The former
        // formatter allocated about three times the line (builder chunks, a string per number).
        var lineBytes = (2 * line.Length) + 22;
        Assert.True(perCall <= lineBytes + 64, $"Format allocated {perCall:F0} B per call for a {line.Length}-character line ({lineBytes} B)");
    }

    /// <summary>The shape of what the street-light profile produces: five tags, floats, an integer, flags.</summary>
    private static Point StreetLightPoint() =>
        Point.ForDevice(
                "street_light",
                DateTimeOffset.FromUnixTimeMilliseconds(1_764_367_170_250),
                new DeviceTopic("lighting", "district-3", "site-12", "streetlight", "lamp-0042", MessageKind.Telemetry))
            .Field("on", true)
            .Field("dim_pct", 80.0)
            .Field("power_w", 48.5)
            .Field("energy_kwh", 1234.567)
            .Field("voltage_v", 229.8)
            .Field("current_a", 0.22)
            .Field("power_factor", 0.95)
            .Field("burning_hours", 10234.5)
            .Field("seq", 123_456L)
            .Field("fault_lamp_failure", false)
            .Field("fault_driver_failure", false)
            .Field("fault_over_voltage", false)
            .Field("fault_under_voltage", false);

    private static Point RandomPoint(Random random, out List<KeyValuePair<string, string>> expectedTags)
    {
        var ts = DateTimeOffset.UnixEpoch.AddTicks(random.NextInt64(-DateTimeOffset.UnixEpoch.UtcTicks, new DateTime(2200, 1, 1).Ticks - DateTimeOffset.UnixEpoch.UtcTicks));
        var point = new Point(RandomText(random, 1, 12), ts) { ExtraNanoseconds = random.Next(0, 3) == 0 ? random.Next(0, 1_000_000) : 0 };

        // The former Point kept tags in a SortedList (ordinal, a repeated key replaces the value).
        var reference = new SortedList<string, string>(StringComparer.Ordinal);
        var tagCount = random.Next(0, 7);
        for (var i = 0; i < tagCount; i++)
        {
            var key = random.Next(0, 4) == 0 && reference.Count > 0 ? reference.Keys[random.Next(reference.Count)] : RandomText(random, 1, 8);
            var value = RandomText(random, 0, 10);
            point.Tag(key, value);
            reference[key] = value;
        }

        expectedTags = [.. reference];
        var fieldCount = random.Next(1, 9);
        for (var i = 0; i < fieldCount; i++)
        {
            var key = RandomText(random, 1, 8);
            switch (random.Next(0, 4))
            {
                case 0:
                    point.Field(key, RandomDouble(random));
                    break;
                case 1:
                    point.Field(key, random.Next(0, 3) == 0 ? SpecialLongs[random.Next(SpecialLongs.Length)] : random.NextInt64(long.MinValue, long.MaxValue));
                    break;
                case 2:
                    point.Field(key, random.Next(0, 2) == 0);
                    break;
                default:
                    point.Field(key, RandomText(random, 0, 20));
                    break;
            }
        }

        return point;
    }

    private static double RandomDouble(Random random)
    {
        switch (random.Next(0, 4))
        {
            case 0:
                return SpecialDoubles[random.Next(SpecialDoubles.Length)];
            case 1:
                // Any finite bit pattern: subnormals, huge exponents, both signs.
                double d;
                do
                {
                    d = BitConverter.Int64BitsToDouble(random.NextInt64(long.MinValue, long.MaxValue));
                }
                while (!double.IsFinite(d));

                return d;
            case 2:
                // Sensor-like values with a few decimals.
                return Math.Round((random.NextDouble() - 0.2) * Math.Pow(10, random.Next(0, 8)), random.Next(0, 4));
            default:
                return (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-30, 30));
        }
    }

    private static string RandomText(Random random, int min, int max)
    {
        var length = random.Next(min, max + 1);
        var sb = new StringBuilder();
        for (var i = 0; i < length; i++)
        {
            sb.Append(Alphabet[random.Next(Alphabet.Length)]);
        }

        // Trailing backslashes are trimmed from keys and tags: make them frequent.
        if (length > 0 && random.Next(0, 5) == 0)
        {
            sb.Append('\\', random.Next(1, 3));
        }

        return sb.ToString();
    }

    // ---- The formatter as it was before the allocation work (commit d29a138), kept verbatim as the reference. ----

    private static string LegacyFormat(Point point)
    {
        var sb = new StringBuilder(160);
        LegacyAppend(sb, point);
        return sb.ToString();
    }

    private static void LegacyAppend(StringBuilder sb, Point point)
    {
        if (point.Fields.Count == 0)
        {
            throw new ArgumentException("a point needs at least one field", nameof(point));
        }

        LegacyAppendEscaped(sb, point.Measurement, LegacyEscapeKind.Measurement);
        foreach (var (key, value) in point.Tags)
        {
            if (value.Length == 0)
            {
                continue;
            }

            sb.Append(',');
            LegacyAppendEscaped(sb, key, LegacyEscapeKind.Key);
            sb.Append('=');
            LegacyAppendEscaped(sb, value, LegacyEscapeKind.Key);
        }

        var first = true;
        foreach (var (key, value) in point.Fields)
        {
            sb.Append(first ? ' ' : ',');
            first = false;
            LegacyAppendEscaped(sb, key, LegacyEscapeKind.Key);
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
                    LegacyAppendEscaped(sb, value.Text ?? "", LegacyEscapeKind.StringField);
                    sb.Append('"');
                    break;
            }
        }

        sb.Append(' ').Append(point.UnixNanoseconds.ToString(CultureInfo.InvariantCulture));
    }

    private enum LegacyEscapeKind
    {
        Measurement,
        Key,
        StringField,
    }

    private static void LegacyAppendEscaped(StringBuilder sb, string value, LegacyEscapeKind kind)
    {
        if (kind != LegacyEscapeKind.StringField)
        {
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
                case ',' when kind != LegacyEscapeKind.StringField:
                case ' ' when kind != LegacyEscapeKind.StringField:
                case '=' when kind == LegacyEscapeKind.Key:
                case '"' when kind == LegacyEscapeKind.StringField:
                case '\\' when kind == LegacyEscapeKind.StringField:
                    sb.Append('\\').Append(c);
                    break;
                default:
                    sb.Append(char.IsControl(c) ? '\uFFFD' : c);
                    break;
            }
        }
    }
}

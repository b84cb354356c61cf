using System.Buffers;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace SmartCity.Telemetry.Devices;

/// <summary>
/// Typed, validating access to a flat JSON object. Every accessor turns a problem into a
/// <see cref="DecodeResult"/> rejection that names the field, so decoders read as a list of rules.
/// </summary>
public readonly struct JsonPayload
{
    private readonly JsonElement _root;

    private JsonPayload(JsonElement root) => _root = root;

    /// <summary>Parses <paramref name="payload"/>; the caller disposes <paramref name="document"/>.</summary>
    public static bool TryParse(
        in ReadOnlySequence<byte> payload,
        int maxDepth,
        out JsonPayload json,
        out JsonDocument? document,
        out DecodeResult rejection)
    {
        json = default;
        document = null;
        try
        {
            document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = maxDepth });
        }
        catch (Exception ex) when (ex is JsonException or ArgumentException)
        {
            // The parser's message names the position (line, byte) of the problem, which is what an integrator needs.
            rejection = DecodeResult.Rejected(RejectReason.MalformedJson, Truncate(ex.Message, 200));
            return false;
        }

        var problem = document.RootElement.ValueKind != JsonValueKind.Object
            ? $"payload must be a JSON object, not {document.RootElement.ValueKind}"
            : JsonStrictness.Problem(payload, document.RootElement);
        if (problem is not null)
        {
            rejection = DecodeResult.Rejected(RejectReason.MalformedJson, problem);
            document.Dispose();
            document = null;
            return false;
        }

        json = new JsonPayload(document.RootElement);
        rejection = default;
        return true;
    }

    /// <summary>Parses <paramref name="payload"/> and runs <paramref name="decode"/> on it (the document is disposed after).</summary>
    public static DecodeResult Decode<TState>(in ReadOnlySequence<byte> payload, int maxDepth, TState state, Func<TState, JsonPayload, DecodeResult> decode)
    {
        if (!TryParse(payload, maxDepth, out var json, out var document, out var rejection))
        {
            return rejection;
        }

        using (document)
        {
            return decode(state, json);
        }
    }

    public bool Has(string name) => _root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    /// <summary>Reads a finite number within [min, max]. Absent and optional: returns true with <c>null</c>.</summary>
    public bool TryGetNumber(string name, double min, double max, bool required, out double? value, out DecodeResult rejection)
    {
        value = null;
        if (!TryFind(name, required, out var e, out rejection))
        {
            return false;
        }

        if (e.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (e.ValueKind != JsonValueKind.Number)
        {
            rejection = DecodeResult.Rejected(RejectReason.WrongType, $"'{name}' must be a number, not {Describe(e.ValueKind)}");
            return false;
        }

        // GetDouble gives +/-Infinity for literals beyond double's range (1e999); those are out of range too.
        if (!e.TryGetDouble(out var d) || !double.IsFinite(d) || d < min || d > max)
        {
            rejection = DecodeResult.Rejected(
                RejectReason.OutOfRange,
                $"'{name}' must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}, was {Truncate(e.GetRawText(), 40)}");
            return false;
        }

        value = d;
        return true;
    }

    public bool TryGetInteger(string name, long min, long max, bool required, out long? value, out DecodeResult rejection)
    {
        value = null;
        if (!TryFind(name, required, out var e, out rejection))
        {
            return false;
        }

        if (e.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (e.ValueKind != JsonValueKind.Number)
        {
            rejection = DecodeResult.Rejected(RejectReason.WrongType, $"'{name}' must be an integer, not {Describe(e.ValueKind)}");
            return false;
        }

        if (!e.TryGetInt64(out var l))
        {
            var reason = e.TryGetDouble(out var d) && double.IsFinite(d) && Math.Floor(d) != d ? RejectReason.WrongType : RejectReason.OutOfRange;
            rejection = DecodeResult.Rejected(reason, $"'{name}' must be an integer between {min} and {max}, was {Truncate(e.GetRawText(), 40)}");
            return false;
        }

        if (l < min || l > max)
        {
            rejection = DecodeResult.Rejected(RejectReason.OutOfRange, $"'{name}' must be between {min} and {max}, was {l}");
            return false;
        }

        value = l;
        return true;
    }

    public bool TryGetBoolean(string name, bool required, out bool? value, out DecodeResult rejection)
    {
        value = null;
        if (!TryFind(name, required, out var e, out rejection))
        {
            return false;
        }

        if (e.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (e.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
        {
            rejection = DecodeResult.Rejected(RejectReason.WrongType, $"'{name}' must be true or false, not {Describe(e.ValueKind)}");
            return false;
        }

        value = e.GetBoolean();
        return true;
    }

    /// <summary>Reads a string of at most <paramref name="maxLength"/> characters.</summary>
    public bool TryGetString(string name, bool required, int maxLength, out string? value, out DecodeResult rejection)
    {
        value = null;
        if (!TryFind(name, required, out var e, out rejection))
        {
            return false;
        }

        if (e.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (e.ValueKind != JsonValueKind.String)
        {
            rejection = DecodeResult.Rejected(RejectReason.WrongType, $"'{name}' must be a string, not {Describe(e.ValueKind)}");
            return false;
        }

        var s = e.GetString()!;
        if (s.Length > maxLength)
        {
            rejection = DecodeResult.Rejected(RejectReason.OutOfRange, $"'{name}' is longer than {maxLength} characters");
            return false;
        }

        value = s;
        return true;
    }

    /// <summary>
    /// Reads an array of codes, each one of <paramref name="codes"/>, into <paramref name="set"/>
    /// (<c>set[i]</c>: <c>codes[i]</c> is in the array). Checked in this order: an array, at most
    /// <c>codes.Count</c> items, every item a string, every item a known code; no string is made
    /// unless a code is rejected.
    /// </summary>
    public bool TryGetFlags(string name, List<string> codes, Span<bool> set, out DecodeResult rejection)
    {
        set.Clear();
        if (!TryFind(name, required: false, out var e, out rejection))
        {
            return false;
        }

        if (e.ValueKind == JsonValueKind.Undefined)
        {
            return true;
        }

        if (e.ValueKind != JsonValueKind.Array)
        {
            rejection = DecodeResult.Rejected(RejectReason.WrongType, $"'{name}' must be an array of strings, not {Describe(e.ValueKind)}");
            return false;
        }

        if (e.GetArrayLength() > codes.Count)
        {
            rejection = DecodeResult.Rejected(RejectReason.OutOfRange, $"'{name}' has more than {codes.Count} items");
            return false;
        }

        foreach (var item in e.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.String)
            {
                rejection = DecodeResult.Rejected(RejectReason.WrongType, $"'{name}' items must be strings, not {Describe(item.ValueKind)}");
                return false;
            }
        }

        foreach (var item in e.EnumerateArray())
        {
            var index = -1;
            for (var i = 0; i < codes.Count; i++)
            {
                if (item.ValueEquals(codes[i]))
                {
                    index = i;
                    break;
                }
            }

            if (index < 0)
            {
                rejection = DecodeResult.Rejected(
                    RejectReason.OutOfRange,
                    $"'{name}' contains unknown code \"{Truncate(item.GetString()!, 40)}\" (known: {string.Join(", ", codes)})");
                return false;
            }

            set[index] = true;
        }

        return true;
    }

    /// <summary>
    /// The device timestamp <c>ts</c>: Unix milliseconds (integer) or an RFC 3339 string with an offset.
    /// It must lie within [now - maxAge, now + maxSkew].
    /// </summary>
    public bool TryGetTimestamp(string name, DateTimeOffset now, TimeSpan maxAge, TimeSpan maxSkew, out DateTimeOffset value, out DecodeResult rejection)
    {
        value = default;
        rejection = default;
        if (!_root.TryGetProperty(name, out var e) || e.ValueKind == JsonValueKind.Null)
        {
            rejection = DecodeResult.Rejected(RejectReason.MissingField, $"'{name}' (device timestamp) is required");
            return false;
        }

        switch (e.ValueKind)
        {
            case JsonValueKind.Number when e.TryGetInt64(out var ms):
                if (ms < 0 || ms > 253_402_300_799_999)
                {
                    rejection = DecodeResult.Rejected(RejectReason.InvalidTimestamp, $"'{name}' must be Unix milliseconds, was {ms}");
                    return false;
                }

                value = DateTimeOffset.FromUnixTimeMilliseconds(ms);
                break;
            case JsonValueKind.String:
                // Almost every timestamp is short and has no JSON escapes: it is read from the
                // payload's own bytes. Anything else takes the string; both apply the same rule.
                Span<char> chars = stackalloc char[64];
                var ok = TryGetShortUnescapedString(e, chars, out var length)
                    ? IsRfc3339WithOffset(chars[..length], out value)
                    : IsRfc3339WithOffset(e.GetString(), out value);
                if (!ok)
                {
                    var s = e.GetString()!;
                    rejection = DecodeResult.Rejected(RejectReason.InvalidTimestamp, $"'{name}' must be RFC 3339 with an offset (2026-11-28T20:15:00Z), was \"{Truncate(s, 40)}\"");
                    return false;
                }

                break;
            default:
                // A number that is no Unix millisecond count (1e400, 30 digits, 1.5) and a value of another
                // JSON type (true, an object) are all "unparseable ts": docs/device-contract.md promises
                // InvalidTimestamp for those, the reason an integrator looks up for a bad clock field.
                rejection = DecodeResult.Rejected(RejectReason.InvalidTimestamp, $"'{name}' must be Unix milliseconds (an integer) or an RFC 3339 string, not {(e.ValueKind == JsonValueKind.Number ? "the number " + Truncate(e.GetRawText(), 40) : Describe(e.ValueKind))}");
                return false;
        }

        if (value > now + maxSkew)
        {
            rejection = DecodeResult.Rejected(RejectReason.InvalidTimestamp, $"'{name}' {value:O} is more than {maxSkew} ahead of the worker's clock");
            return false;
        }

        if (value < now - maxAge)
        {
            rejection = DecodeResult.Rejected(RejectReason.InvalidTimestamp, $"'{name}' {value:O} is older than {maxAge}");
            return false;
        }

        return true;
    }

    private static bool IsRfc3339WithOffset(ReadOnlySpan<char> s, out DateTimeOffset value)
    {
        value = default;
        return s.Length <= 40 && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value)
            && (s.EndsWith('Z') || s.EndsWith('z') || s.LastIndexOfAny('+', '-') > 10);
    }

    /// <summary>
    /// The text of a JSON string that has no escapes and fits <paramref name="chars"/>, decoded from
    /// the document's own UTF-8 bytes; false for anything else (the caller then uses GetString).
    /// </summary>
    private static bool TryGetShortUnescapedString(JsonElement e, Span<char> chars, out int length)
    {
        length = 0;
        var raw = JsonMarshal.GetRawUtf8Value(e);
        if (raw.Length >= 2 && raw[0] == (byte)'"' && raw[^1] == (byte)'"')
        {
            raw = raw[1..^1];
        }

        // A UTF-16 string is never longer than its UTF-8 bytes, so this also bounds the output.
        if (raw.Length > chars.Length || raw.Contains((byte)'\\'))
        {
            return false;
        }

        return Utf8.ToUtf16(raw, chars, out _, out length, replaceInvalidSequences: false) == OperationStatus.Done;
    }

    /// <summary>
    /// Finds a property. Absent or null: a MissingField rejection when required, otherwise success
    /// with an undefined element (the caller skips the optional field).
    /// </summary>
    private bool TryFind(string name, bool required, out JsonElement element, out DecodeResult rejection)
    {
        rejection = default;
        if (_root.TryGetProperty(name, out element) && element.ValueKind != JsonValueKind.Null)
        {
            return true;
        }

        element = default;
        if (required)
        {
            rejection = DecodeResult.Rejected(RejectReason.MissingField, $"'{name}' is required");
            return false;
        }

        return true;
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        _ => kind.ToString().ToLowerInvariant(),
    };

    /// <summary>At most <paramref name="max"/> UTF-16 units, then "..."; never cuts a character in half (an emoji is two units).</summary>
    internal static string Truncate(string s, int max)
    {
        if (s.Length <= max)
        {
            return s;
        }

        var cut = char.IsHighSurrogate(s[max - 1]) ? max - 1 : max;
        return string.Concat(s.AsSpan(0, cut), "...");
    }
}

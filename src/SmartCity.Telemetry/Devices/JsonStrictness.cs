using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Unicode;

namespace SmartCity.Telemetry.Devices;

/// <summary>
/// What <see cref="JsonDocument"/> lets through but a device payload must not carry:
/// <list type="bullet">
/// <item>Duplicate keys. The document keeps both and a lookup returns the last, while other readers
/// (a gateway, a log shipper, the dead-letter excerpt) take the first: a device or gateway could
/// show one reader a value and store another. Rejected at every level of the payload.</item>
/// <item>Invalid UTF-8 inside a string. The parser does not check string contents; reading such a
/// string later throws, which made the message land in no outcome (issue 24).</item>
/// </list>
/// </summary>
internal static class JsonStrictness
{
    /// <summary>
    /// Objects up to this many properties are checked pair by pair on the document's own bytes
    /// (device payloads have a dozen or so; nothing is allocated); larger ones use a set of names.
    /// </summary>
    private const int PairwiseLimit = 32;

    /// <summary>The first problem found, as the rejection's detail; null when there is none.</summary>
    public static string? Problem(in ReadOnlySequence<byte> payload, JsonElement root)
    {
        if (!IsValidUtf8(payload))
        {
            return "payload is not valid UTF-8";
        }

        return DuplicateKey(root) is { } key ? $"duplicate key '{JsonPayload.Truncate(key, 100)}' (each key may appear once per object)" : null;
    }

    private static bool IsValidUtf8(in ReadOnlySequence<byte> payload)
    {
        if (payload.IsSingleSegment)
        {
            return Utf8.IsValid(payload.FirstSpan);
        }

        // A payload in several segments (a large packet) is copied once so no character is split across a boundary.
        var length = (int)payload.Length;
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            payload.CopyTo(copy);
            return Utf8.IsValid(copy.AsSpan(0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    /// <summary>The path of the first key that appears twice in one object (<c>meta.id</c>, <c>items[2].id</c>), or null.</summary>
    private static string? DuplicateKey(JsonElement element)
    {
        if (element.ValueKind == JsonValueKind.Array)
        {
            var index = 0;
            foreach (var item in element.EnumerateArray())
            {
                if (DuplicateKey(item) is { } inner)
                {
                    return $"[{index}]" + (inner.StartsWith('[') ? inner : "." + inner);
                }

                index++;
            }

            return null;
        }

        if (element.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        if (DuplicateInObject(element) is { } duplicate)
        {
            return duplicate;
        }

        foreach (var property in element.EnumerateObject())
        {
            if (property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array && DuplicateKey(property.Value) is { } inner)
            {
                return property.Name + (inner.StartsWith('[') ? inner : "." + inner);
            }
        }

        return null;
    }

    /// <summary>
    /// The first duplicate key of one object, or null. One pass hashes each raw name (no escapes) and
    /// compares the hashes; only a match, an escaped name or a large object goes on to the exact checks
    /// below, which name the same key as before. A payload without duplicates (nearly all) was a
    /// name comparison per pair of keys on the document's metadata: about 150 for a street light's 18
    /// keys, 2 % of the worker's CPU at max rate; now 18 hashes.
    /// </summary>
    private static string? DuplicateInObject(JsonElement element)
    {
        Span<int> hashes = stackalloc int[PairwiseLimit];
        var count = 0;
        var exact = false;
        foreach (var property in element.EnumerateObject())
        {
            var raw = JsonMarshal.GetRawUtf8PropertyName(property);
            if (count == PairwiseLimit || raw.Contains((byte)'\\'))
            {
                exact = true;
                break;
            }

            var hash = Hash(raw);
            exact = hashes[..count].Contains(hash);
            if (exact)
            {
                break;
            }

            hashes[count++] = hash;
        }

        if (!exact)
        {
            return null;
        }

        count = 0;
        foreach (var _ in element.EnumerateObject())
        {
            count++;
        }

        return count > PairwiseLimit ? DuplicateBySet(element) : DuplicateByPairs(element);
    }

    /// <summary>FNV-1a of the name's bytes: equal names hash equal; the exact check settles a collision.</summary>
    private static int Hash(ReadOnlySpan<byte> name)
    {
        var hash = new HashCode();
        hash.AddBytes(name);
        return hash.ToHashCode();
    }

    private static string? DuplicateByPairs(JsonElement element)
    {
        var i = 0;
        foreach (var later in element.EnumerateObject())
        {
            var j = 0;
            foreach (var earlier in element.EnumerateObject())
            {
                if (j++ == i)
                {
                    break;
                }

                if (SameName(later, earlier))
                {
                    return later.Name;
                }
            }

            i++;
        }

        return null;
    }

    private static string? DuplicateBySet(JsonElement element)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var property in element.EnumerateObject())
        {
            if (!names.Add(property.Name))
            {
                return property.Name;
            }
        }

        return null;
    }

    /// <summary>Names compared as JSON means them: <c>"fill_pct"</c> and <c>"fill\u005fpct"</c> are the same key.</summary>
    private static bool SameName(JsonProperty a, JsonProperty b)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(b);
        // NameEquals unescapes a's name itself; b's raw bytes are only usable as they are when b has no escape.
        return raw.Contains((byte)'\\') ? a.NameEquals(b.Name) : a.NameEquals(raw);
    }
}

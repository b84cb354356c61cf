namespace SmartCity.Telemetry.Devices;

/// <summary>The kinds of message a device sends (the last topic segment).</summary>
public enum MessageKind
{
    Telemetry,
    Status,
    Event,
    /// <summary>Commands travel towards devices; the worker sees them on its wildcard subscription and skips them.</summary>
    Command,
}

/// <summary>
/// A parsed device topic: <c>{root}/{sector}/{district}/{site}/{deviceType}/{deviceId}/{kind}</c>
/// (docs/device-contract.md). The device id is the segment a broker ACL pins to the device's username.
/// </summary>
public readonly record struct DeviceTopic(
    string Sector,
    string District,
    string Site,
    string DeviceType,
    string DeviceId,
    MessageKind Kind);

/// <summary>Splits and validates device topics. Rejections are values, never exceptions.</summary>
public sealed class TopicParser
{
    /// <summary>Longest accepted topic segment; longer ones are hostile or broken.</summary>
    public const int MaxSegmentLength = 64;

    /// <summary>The default sectors (<c>Decoding:Sectors</c>); a city adds its own in configuration.</summary>
    public static readonly IReadOnlySet<string> Sectors = new HashSet<string>(DecodingOptions.DefaultSectors, StringComparer.Ordinal);

    // Districts, sites and device types repeat across thousands of devices: each message reuses one
    // string per value instead of making new ones. Bounded, so hostile topics cannot grow it; past
    // the bound a segment is simply copied as before. Device ids are not kept (one per device).
    private const int MaxSharedSegments = 4096;

    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _sectorLookup;
    private readonly string _sectorList;

    private readonly string _prefix;
    private readonly int _maxSegmentLength;
    private readonly NameTable _shared = new(MaxSharedSegments);

    /// <param name="root">Topic root, one or more segments without a trailing slash (default <c>city</c>).</param>
    /// <param name="maxSegmentLength">Longest segment accepted (<c>Decoding:MaxTopicSegmentLength</c>), at most <see cref="MaxSegmentLength"/>.</param>
    /// <param name="sectors">Sectors accepted (<c>Decoding:Sectors</c>); null: <see cref="Sectors"/>.</param>
    public TopicParser(string root, int maxSegmentLength = MaxSegmentLength, IEnumerable<string>? sectors = null)
    {
        var known = new HashSet<string>(sectors ?? Sectors, StringComparer.Ordinal);
        _sectorLookup = known.GetAlternateLookup<ReadOnlySpan<char>>();
        _sectorList = string.Join(", ", known.Order(StringComparer.Ordinal));
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSegmentLength, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxSegmentLength, MaxSegmentLength);
        _prefix = root + "/";
        _maxSegmentLength = maxSegmentLength;
    }

    public bool TryParse(string topic, out DeviceTopic result, out string error)
    {
        result = default;
        if (!topic.StartsWith(_prefix, StringComparison.Ordinal))
        {
            error = $"topic does not start with '{_prefix}'";
            return false;
        }

        var rest = topic.AsSpan(_prefix.Length);
        Span<Range> parts = stackalloc Range[7];
        var count = rest.Split(parts, '/');
        if (count != 6)
        {
            error = "expected {sector}/{district}/{site}/{deviceType}/{deviceId}/{kind} after the root";
            return false;
        }

        for (var i = 0; i < count; i++)
        {
            if (!IsValidSegment(rest[parts[i]]) || rest[parts[i]].Length > _maxSegmentLength)
            {
                error = $"topic segment {i + 1} must be 1..{_maxSegmentLength} characters of [a-z A-Z 0-9 _ . -]";
                return false;
            }
        }

        if (!_sectorLookup.TryGetValue(rest[parts[0]], out var sector))
        {
            error = $"unknown sector '{rest[parts[0]]}' (expected one of {_sectorList})";
            return false;
        }

        MessageKind kind;
        switch (rest[parts[5]])
        {
            case "telemetry": kind = MessageKind.Telemetry; break;
            case "status": kind = MessageKind.Status; break;
            case "event": kind = MessageKind.Event; break;
            case "cmd": kind = MessageKind.Command; break;
            default:
                error = "unknown message kind (expected telemetry, status, event or cmd)";
                return false;
        }

        result = new DeviceTopic(
            sector,
            _shared.Get(rest[parts[1]]),
            _shared.Get(rest[parts[2]]),
            _shared.Get(rest[parts[3]]),
            rest[parts[4]].ToString(),
            kind);
        error = "";
        return true;
    }

    /// <summary>
    /// Segments become InfluxDB tag values and ACL patterns, so only a small, escape-free alphabet is
    /// accepted: no spaces, commas, equals signs, quotes, wildcards or control characters.
    /// </summary>
    public static bool IsValidSegment(ReadOnlySpan<char> segment)
    {
        if (segment.IsEmpty || segment.Length > MaxSegmentLength)
        {
            return false;
        }

        foreach (var c in segment)
        {
            var ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' or '-' or '.';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}

using System.Buffers;
using System.Text;
using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Ingest;

/// <summary>One rejected message as an integrator sees it (API and the <c>dead_letter</c> measurement).</summary>
public sealed record Rejection(
    DateTimeOffset ReceivedAt,
    string Reason,
    string Detail,
    string Topic,
    string? DeviceId,
    long PayloadBytes,
    string PayloadExcerpt);

/// <summary>
/// Turns rejections into dead-letter points and keeps the latest ones in memory for the API.
/// Dead letters are stored through the same sink as telemetry, so a rejection is never lost either.
/// </summary>
public sealed class DeadLetters
{
    public const string Measurement = "dead_letter";
    public const int ExcerptBytes = 256;
    public const int MaxTopicChars = 256;
    private const int Kept = 200;

    private readonly Queue<Rejection> _recent = new();
    private readonly object _lock = new();
    private long _lastNanoseconds;

    public IReadOnlyList<Rejection> Recent()
    {
        lock (_lock)
        {
            return [.. _recent.Reverse()];
        }
    }

    /// <summary>A line the database refused (400/422): recorded and returned as a dead-letter line.</summary>
    public string CreateForRefusedLine(string line, string error, DateTimeOffset now)
    {
        var excerpt = JsonPayload.Truncate(line, ExcerptBytes);
        var rejection = new Rejection(now, "RefusedByDatabase", JsonPayload.Truncate(error, 300), "", null, line.Length, excerpt);
        Remember(rejection);
        return LineProtocol.Format(NewPoint(rejection.Reason, now)
            .Field("topic", "")
            .Field("detail", rejection.Detail)
            .Field("payload_bytes", (long)line.Length)
            .Field("payload_excerpt", excerpt));
    }

    /// <summary>Records the rejection and returns its dead-letter point.</summary>
    public Point Create(string topic, in ReadOnlySequence<byte> payload, DecodeResult result, DeviceTopic? parsed, DateTimeOffset receivedAt)
    {
        var excerpt = Excerpt(payload);
        var safeTopic = JsonPayload.Truncate(topic, MaxTopicChars);
        var rejection = new Rejection(receivedAt, result.Reason.ToString(), result.Detail, safeTopic, parsed?.DeviceId, payload.Length, excerpt);
        Remember(rejection);
        var point = NewPoint(result.Reason.ToString(), receivedAt)
            .Field("topic", safeTopic)
            .Field("detail", result.Detail)
            .Field("payload_bytes", payload.Length)
            .Field("payload_excerpt", excerpt);
        if (parsed is { } p)
        {
            // Only validated topic segments become tags; hostile strings stay in fields.
            point.Tag("sector", p.Sector).Tag("device_type", p.DeviceType).Field("device_id", p.DeviceId);
        }

        return point;
    }

    private void Remember(Rejection rejection)
    {
        lock (_lock)
        {
            _recent.Enqueue(rejection);
            if (_recent.Count > Kept)
            {
                _recent.Dequeue();
            }
        }
    }

    private Point NewPoint(string reason, DateTimeOffset receivedAt)
    {
        // Dead letters carry the time of receipt; two in the same tick would overwrite each other in
        // InfluxDB (same series, same time), so each gets a strictly increasing nanosecond timestamp.
        var ns = (receivedAt.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
        long unique;
        long last;
        do
        {
            last = Interlocked.Read(ref _lastNanoseconds);
            unique = Math.Max(ns, last + 1);
        }
        while (Interlocked.CompareExchange(ref _lastNanoseconds, unique, last) != last);

        // At most three tags (reason, sector, device type) and five fields: the lists never grow.
        return new Point(Measurement, receivedAt, tagCapacity: 3, fieldCapacity: 5) { ExtraNanoseconds = unique - ns }.Tag("reason", reason);
    }

    private static string Excerpt(in ReadOnlySequence<byte> payload)
    {
        var slice = payload.Length > ExcerptBytes ? payload.Slice(0, ExcerptBytes) : payload;
        // Invalid UTF-8 becomes U+FFFD: the excerpt is for reading, not for replay.
        return Encoding.UTF8.GetString(slice);
    }
}

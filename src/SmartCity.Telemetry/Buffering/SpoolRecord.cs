using System.Buffers.Binary;
using System.IO.Hashing;
using System.Text;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// What the source hands to the spool: a line-protocol point (telemetry or dead letter), or no
/// line for a message that is only to be acknowledged (device commands on the shared tree).
/// <see cref="Ack"/> tells the broker the message is safe; the spool calls it once the record is on disk.
/// </summary>
public readonly record struct BufferedMessage(string? Line, bool IsDeadLetter, Func<CancellationToken, Task>? Ack, bool IsInternal = false)
{
    /// <summary>
    /// The line already as UTF-8 (<see cref="SpoolLineArena"/>), instead of <see cref="Line"/>: the
    /// ingest stage's telemetry, with no string per message. The spool stores the same bytes either way.
    /// </summary>
    public SpoolLine Utf8Line { get; init; }

    /// <summary>False for a message that is only to be acknowledged.</summary>
    public bool HasRecord => Line is not null || Utf8Line.HasValue;
}

/// <summary>
/// The on-disk record: a fixed header, then the line as UTF-8.
/// <code>
/// 0      1      2..5          6..13                 14..17               18..
/// magic  flags  length (i32)  received (UTC ticks)  CRC-32 of 1..13+line line
/// </code>
/// The CRC finds a torn write at the tail after a crash, and corruption anywhere.
/// </summary>
internal static class SpoolRecord
{
    public const int HeaderSize = 18;
    public const byte Magic = 0xA5;
    public const byte DeadLetterFlag = 1;

    /// <summary>The worker's own points (pipeline statistics): stored like any other, counted apart.</summary>
    public const byte InternalFlag = 2;
    public const int MaxLineBytes = 16 * 1024 * 1024;

    public static int Write(Span<byte> destination, string line, byte flags, long receivedTicks) =>
        WriteHeader(destination, Encoding.UTF8.GetBytes(line, destination[HeaderSize..]), flags, receivedTicks);

    /// <summary>The same record from a line already encoded as UTF-8.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> utf8Line, byte flags, long receivedTicks)
    {
        utf8Line.CopyTo(destination[HeaderSize..]);
        return WriteHeader(destination, utf8Line.Length, flags, receivedTicks);
    }

    private static int WriteHeader(Span<byte> destination, int length, byte flags, long receivedTicks)
    {
        destination[0] = Magic;
        destination[1] = flags;
        BinaryPrimitives.WriteInt32LittleEndian(destination[2..], length);
        BinaryPrimitives.WriteInt64LittleEndian(destination[6..], receivedTicks);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[14..], Checksum(destination, length));
        return HeaderSize + length;
    }

    public static int MaxSize(string line) => HeaderSize + Encoding.UTF8.GetMaxByteCount(line.Length);

    /// <summary>Reads the header; false when it is not a plausible record start.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out int length, out byte flags, out long receivedTicks)
    {
        length = BinaryPrimitives.ReadInt32LittleEndian(header[2..]);
        flags = header[1];
        receivedTicks = BinaryPrimitives.ReadInt64LittleEndian(header[6..]);
        return header[0] == Magic && length is >= 0 and <= MaxLineBytes;
    }

    public static bool IsIntact(ReadOnlySpan<byte> record, int length) =>
        BinaryPrimitives.ReadUInt32LittleEndian(record[14..]) == Checksum(record, length);

    /// <summary>The same check with the header and the line in separate buffers (the reader puts the line straight into a request body).</summary>
    public static bool IsIntact(ReadOnlySpan<byte> header, ReadOnlySpan<byte> line) =>
        BinaryPrimitives.ReadUInt32LittleEndian(header[14..]) == Checksum(header, line);

    private static uint Checksum(ReadOnlySpan<byte> record, int length) => Checksum(record, record.Slice(HeaderSize, length));

    // One hasher per thread, reset after use: a new Crc32 per record was 24 bytes of garbage per message.
    [ThreadStatic]
    private static Crc32? _crc;

    private static uint Checksum(ReadOnlySpan<byte> header, ReadOnlySpan<byte> line)
    {
        var crc = _crc ??= new Crc32();
        crc.Append(header[1..14]);
        crc.Append(line);
        var hash = crc.GetCurrentHashAsUInt32();
        crc.Reset();
        return hash;
    }
}

using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using System.Text;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The spool's read cursor as a fixed-size file rewritten in place: magic, segment, offset, CRC-32.
/// Write-tmp-then-rename needed a new file for every commit, which a full disk refuses, so draining
/// (the only way to free space) stopped exactly when it was needed. Rewriting the same 24 bytes needs
/// no new space; the CRC tells a torn write, and a torn cursor is read as "start of the first
/// segment" (records stored again, harmless: writes are idempotent).
/// </summary>
internal sealed class SpoolCursorFile : IDisposable
{
    private const int Size = 24;
    private static ReadOnlySpan<byte> Magic => "SCC1"u8;
    private readonly FileStream _file;
    private readonly byte[] _buffer = new byte[Size];

    private SpoolCursorFile(FileStream file) => _file = file;

    /// <summary>Opens (or creates, at full size) the cursor at <paramref name="path"/>; reads it, or the older text format "segment offset".</summary>
    public static SpoolCursorFile Open(string path, out SpoolPosition? position)
    {
        position = File.Exists(path) ? Read(File.ReadAllBytes(path)) : null;
        var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1, FileOptions.None);
        var cursor = new SpoolCursorFile(file);
        if (file.Length != Size)
        {
            // New, or the old text format: written once at full size, after which every commit rewrites it in place.
            cursor.Write(position ?? default, flushToDisk: true);
        }

        return cursor;
    }

    internal static SpoolPosition? Read(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length == Size && bytes[..4].SequenceEqual(Magic))
        {
            return Crc32.HashToUInt32(bytes[..20]) == BinaryPrimitives.ReadUInt32LittleEndian(bytes[20..])
                ? new SpoolPosition(BinaryPrimitives.ReadInt64LittleEndian(bytes[4..]), BinaryPrimitives.ReadInt64LittleEndian(bytes[12..]))
                : null;
        }

        var parts = Encoding.ASCII.GetString(bytes).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return parts.Length == 2
               && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var segment)
               && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
            ? new SpoolPosition(segment, offset)
            : null;
    }

    /// <summary>Rewrites the cursor in place. Not fsynced on every commit: an older cursor after a power loss only repeats writes.</summary>
    public void Write(SpoolPosition position, bool flushToDisk = false)
    {
        Magic.CopyTo(_buffer);
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(4), position.Segment);
        BinaryPrimitives.WriteInt64LittleEndian(_buffer.AsSpan(12), position.Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(20), Crc32.HashToUInt32(_buffer.AsSpan(0, 20)));
        _file.Position = 0;
        _file.Write(_buffer);
        _file.SetLength(Size);
        _file.Flush(flushToDisk);
    }

    public void Dispose() => _file.Dispose();
}

namespace SmartCity.Telemetry.Buffering;

/// <summary>Writes one line as UTF-8 into <paramref name="destination"/>; false (nothing usable written) when it does not fit.</summary>
public delegate bool Utf8LineWriter<in TState>(TState state, Span<byte> destination, out int bytesWritten);

/// <summary>
/// Where the ingest stage puts each line, already as UTF-8, until the spool's writer copies it into
/// its record (issue 25: a line used to be a string of twice its bytes per message, then encoded
/// again by the writer: about 700 of the 2,200 bytes the receive path allocated per message). Lines
/// go one after another into chunks of <see cref="ChunkBytes"/>; a chunk goes back to a small free
/// list once it is no longer written to and the writer has copied each of its lines.
/// </summary>
/// <remarks>
/// A line that never reaches the writer (intake closed, the worker stopping) keeps its chunk out of
/// the free list: the garbage collector takes it, nothing is reused while a line may still be read.
/// Thread-safe: the MQTT source and the TALQ gateway both hand messages to the ingest stage.
/// </remarks>
public sealed class SpoolLineArena
{
    /// <summary>Below the large-object heap's 85,000 bytes; a street-light line (about 350 bytes) fits about 90 times.</summary>
    public const int ChunkBytes = 32 * 1024;

    // What the free list keeps at most (4 MB): enough for the spool's whole intake queue of
    // street-light lines (8,192 at the default commit batch), not for a burst of huge lines.
    private const int MaxFreeChunks = 128;

    private readonly Lock _lock = new();
    private readonly Stack<LineChunk> _free = new();
    private LineChunk? _current;

    /// <summary>
    /// Writes a line with <paramref name="write"/> into the current chunk, or into a fresh one when it
    /// does not fit there. False when it does not fit a whole chunk either (the caller keeps it as a string).
    /// </summary>
    public bool TryWrite<TState>(TState state, Utf8LineWriter<TState> write, out SpoolLine line)
    {
        ArgumentNullException.ThrowIfNull(write);
        lock (_lock)
        {
            var chunk = _current ??= Rent();
            if (!write(state, chunk.Bytes.AsSpan(chunk.Used), out var length))
            {
                if (chunk.Used == 0)
                {
                    line = default;
                    return false;
                }

                // The current chunk is full: it is no longer written to, and goes back once its lines are copied.
                chunk.Release();
                chunk = _current = Rent();
                if (!write(state, chunk.Bytes, out length))
                {
                    line = default;
                    return false;
                }
            }

            line = new SpoolLine(chunk, chunk.Used, length);
            chunk.Used += length;
            chunk.AddLine();
            return true;
        }
    }

    private LineChunk Rent()
    {
        var chunk = _free.TryPop(out var free) ? free : new LineChunk(this);
        chunk.Reset();
        return chunk;
    }

    internal void Return(LineChunk chunk)
    {
        lock (_lock)
        {
            if (_free.Count < MaxFreeChunks)
            {
                _free.Push(chunk);
            }
        }
    }
}

/// <summary>One chunk of lines; counts its lines not yet copied, plus one while the arena still writes to it.</summary>
internal sealed class LineChunk(SpoolLineArena arena)
{
    private int _references;

    public byte[] Bytes { get; } = new byte[SpoolLineArena.ChunkBytes];

    public int Used { get; set; }

    public void Reset()
    {
        Used = 0;
        Volatile.Write(ref _references, 1);
    }

    public void AddLine() => Interlocked.Increment(ref _references);

    /// <summary>A line was copied (or the arena moved on): the last release gives the chunk back.</summary>
    public void Release()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            arena.Return(this);
        }
    }
}

/// <summary>A line in a <see cref="SpoolLineArena"/> chunk, as UTF-8; read and released once, by the spool's writer.</summary>
public readonly struct SpoolLine : IEquatable<SpoolLine>
{
    private readonly LineChunk? _chunk;
    private readonly int _offset;
    private readonly int _length;

    internal SpoolLine(LineChunk chunk, int offset, int length)
    {
        _chunk = chunk;
        _offset = offset;
        _length = length;
    }

    /// <summary>False for the default value (no line).</summary>
    public bool HasValue => _chunk is not null;

    public int Length => _length;

    /// <summary>The chunk the line is in (tests: which lines share one).</summary>
    internal LineChunk? Chunk => _chunk;

    internal ReadOnlySpan<byte> Span => _chunk is null ? default : _chunk.Bytes.AsSpan(_offset, _length);

    /// <summary>After the line was copied: the chunk may be reused once all its lines are.</summary>
    internal void Release() => _chunk?.Release();

    public bool Equals(SpoolLine other) => ReferenceEquals(_chunk, other._chunk) && _offset == other._offset && _length == other._length;

    public override bool Equals(object? obj) => obj is SpoolLine other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(_chunk, _offset, _length);

    public static bool operator ==(SpoolLine left, SpoolLine right) => left.Equals(right);

    public static bool operator !=(SpoolLine left, SpoolLine right) => !left.Equals(right);
}

using System.Buffers;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// Records read for storage, and where the read ended (what <see cref="DurableSpool.Commit"/> takes).
/// The lines are kept as they lie on disk, UTF-8, in one contiguous body, each followed by '\n':
/// the body of an InfluxDB write request without a string per line. Per-line offsets let a refused
/// request be split down to the bad line, which only then is decoded to a string.
/// The body and offsets are pooled: <see cref="Dispose"/> once no write uses the batch any more.
/// </summary>
public sealed class SpoolBatch : IDisposable
{
    private readonly ArrayPool<byte> _pool;
    private byte[] _body;
    private int[] _starts; // _starts[i]: where line i begins; _starts[LineCount]: the body's length
    private int _length;

    /// <summary>An empty batch (the final one).</summary>
    public SpoolBatch()
    {
        _pool = ArrayPool<byte>.Shared;
        _body = [];
        _starts = [0];
    }

    /// <param name="pool">Where the body comes from and goes back to (the cursor's own).</param>
    internal SpoolBatch(int maxLines, int bodyBytes, ArrayPool<byte> pool)
    {
        _pool = pool;
        _body = pool.Rent(Math.Max(bodyBytes, 1024));
        _starts = ArrayPool<int>.Shared.Rent(maxLines + 1);
        _starts[0] = 0;
    }

    /// <summary>Lines to store (expired records are not among them).</summary>
    public int LineCount { get; private set; }

    /// <summary>Every line, each followed by '\n' (valid until <see cref="Dispose"/>).</summary>
    public ReadOnlySpan<byte> Body => _body.AsSpan(0, _length);

    public int DeadLetters { get; internal set; }

    /// <summary>The worker's own points among the lines (pipeline statistics).</summary>
    public int Internal { get; internal set; }

    /// <summary>Records read, including expired ones (which are not among the lines).</summary>
    public int Records { get; internal set; }

    public int Expired { get; internal set; }

    public SpoolPosition End { get; internal set; }

    /// <summary>Receipt time of the oldest record in the batch (UTC ticks).</summary>
    public long OldestTicks { get; internal set; }

    /// <summary>True when intake is closed and everything has been read: the sink may stop.</summary>
    public bool IsFinal { get; internal set; }

    /// <summary>
    /// The request body of <paramref name="count"/> lines from <paramref name="first"/>, in the batch's
    /// own pooled buffer (not copied: a 5,000-line body is about 1.2 MB, which as an array of its own
    /// would land on the large-object heap with every write). Valid until <see cref="Dispose"/>.
    /// </summary>
    public ReadOnlyMemory<byte> LinesMemory(int first, int count)
    {
        var span = LinesSpan(first, count); // checks the range
        return _body.AsMemory(_starts[first], span.Length);
    }

    /// <summary>Lines <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> - 1, each followed by '\n'.</summary>
    public ReadOnlySpan<byte> LinesSpan(int first, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(first);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(first + count, LineCount);
        return _body.AsSpan(_starts[first], _starts[first + count] - _starts[first]);
    }

    /// <summary>One line as a string, without its '\n' (for a refused line, its log and its dead letter).</summary>
    public string GetLine(int index)
    {
        var line = LinesSpan(index, 1);
        return System.Text.Encoding.UTF8.GetString(line[..^1]);
    }

    /// <summary>Every line as a string (tests and diagnostics; storage never needs them).</summary>
    public IEnumerable<string> DecodeLines()
    {
        for (var i = 0; i < LineCount; i++)
        {
            yield return GetLine(i);
        }
    }

    /// <summary>Room for a line of <paramref name="length"/> bytes after the last one; it counts only after <see cref="AddReservedLine"/>.</summary>
    internal Span<byte> ReserveLine(int length)
    {
        var needed = _length + length + 1;
        if (needed > _body.Length)
        {
            var grown = _pool.Rent(Math.Max(needed, _body.Length * 2));
            _body.AsSpan(0, _length).CopyTo(grown);
            ReturnBody();
            _body = grown;
        }

        return _body.AsSpan(_length, length);
    }

    /// <summary>Keeps the line last reserved (and filled) with <see cref="ReserveLine"/>.</summary>
    internal void AddReservedLine(int length)
    {
        _body[_length + length] = (byte)'\n';
        _length += length + 1;
        LineCount++;
        _starts[LineCount] = _length;
    }

    public void Dispose()
    {
        ReturnBody();
        _body = [];
        if (_starts.Length > 1)
        {
            ArrayPool<int>.Shared.Return(_starts);
        }

        _starts = [0];
        _length = 0;
        LineCount = 0;
    }

    private void ReturnBody()
    {
        if (_body.Length > 0)
        {
            _pool.Return(_body);
        }
    }
}

using System.Buffers;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The spool writer's encoded records for one group commit, in 64 KB chunks: never one array on the
/// large-object heap. A contiguous buffer grew by doubling through 128, 256 and 512 KB (LOH arrays) to
/// hold a max-rate commit of up to <see cref="SpoolOptions.CommitBatch"/> records, and was replaced by
/// a small one after each small commit so a paced worker would not keep it; at max rate commits are
/// small and big in turn, so it grew again several times a second: 16 MB of LOH garbage in a 55 s
/// max-rate run (docs/performance.md, "the worker's LOH"), only reclaimed by gen2 collections.
/// </summary>
/// <remarks>
/// A record is never split between chunks (<see cref="SpoolRecord.Write(Span{byte}, ReadOnlySpan{byte}, byte, long)"/>
/// writes it in one span); one longer than a chunk gets an array of its own, not kept. The chunks are
/// written to the segment one after the other before the one fsync of the commit, so the bytes on disk
/// and the durability point are those of a single write. After a commit, only as many chunks are kept as
/// the biggest of the last <see cref="Recent"/> commits used: a burst's chunks go once the rate is paced.
/// One writer: the spool's commit loop.
/// </remarks>
internal sealed class SpoolCommitBuffer : IBufferWriter<byte>
{
    /// <summary>Below the large-object heap's 85,000 bytes.</summary>
    public const int ChunkBytes = 64 * 1024;

    /// <summary>How many of the last commits say how many chunks to keep.</summary>
    public const int Recent = 8;

    private readonly List<byte[]> _chunks = [new byte[ChunkBytes]];
    private readonly List<int> _lengths = [0];
    private readonly RecentPeak _recent = new(Recent);
    private int _current;

    /// <summary>Bytes written since <see cref="Reset"/>.</summary>
    public int WrittenCount { get; private set; }

    /// <summary>Chunks held now (tests).</summary>
    internal int ChunkCount => _chunks.Count;

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _chunks[_current].Length - _lengths[_current]);
        _lengths[_current] += count;
        WrittenCount += count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Chunk(sizeHint).AsMemory(_lengths[_current]);

    public Span<byte> GetSpan(int sizeHint = 0) => Chunk(sizeHint).AsSpan(_lengths[_current]);

    /// <summary>Empty for the next commit; the chunks stay.</summary>
    public void Reset()
    {
        for (var i = 0; i <= _current; i++)
        {
            _lengths[i] = 0;
        }

        _current = 0;
        WrittenCount = 0;
    }

    /// <summary>Writes what the commit holds to <paramref name="stream"/>, chunk after chunk, in order.</summary>
    public void WriteTo(Stream stream)
    {
        for (var i = 0; i <= _current; i++)
        {
            stream.Write(_chunks[i], 0, _lengths[i]);
        }
    }

    /// <summary>
    /// After the commit: lets go of the chunks the last <see cref="Recent"/> commits did not need (a burst's,
    /// once paced) and of any that a long record had of its own size.
    /// </summary>
    public void Trim()
    {
        _recent.Record(_current + 1);
        var keep = _recent.Max;
        Reset();
        if (_chunks.Count > keep)
        {
            _chunks.RemoveRange(keep, _chunks.Count - keep);
            _lengths.RemoveRange(keep, _lengths.Count - keep);
        }

        for (var i = 0; i < _chunks.Count; i++)
        {
            if (_chunks[i].Length != ChunkBytes)
            {
                _chunks[i] = new byte[ChunkBytes];
            }
        }
    }

    /// <summary>The chunk with room for <paramref name="sizeHint"/> bytes: the current one, else the next.</summary>
    private byte[] Chunk(int sizeHint)
    {
        var size = Math.Max(sizeHint, 1);
        if (_chunks[_current].Length - _lengths[_current] >= size)
        {
            return _chunks[_current];
        }

        _current++;
        if (_current == _chunks.Count)
        {
            _chunks.Add(new byte[Math.Max(ChunkBytes, size)]);
            _lengths.Add(0);
        }
        else if (_chunks[_current].Length < size)
        {
            _chunks[_current] = new byte[size];
        }

        return _chunks[_current];
    }
}

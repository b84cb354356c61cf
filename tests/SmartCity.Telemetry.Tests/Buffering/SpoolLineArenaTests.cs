using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>
/// The ingest stage's lines travel to the spool's writer as UTF-8 in shared chunks: a chunk may be
/// written again only once every line in it was copied, and the record stored from such a line is
/// byte for byte the record the same line as a string gives.
/// </summary>
public sealed class SpoolLineArenaTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "smartcity-arena-tests-" + Guid.NewGuid().ToString("N"));
    private readonly PipelineMetrics _metrics = new();

    public void Dispose()
    {
        _metrics.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public void TryWrite_ChunkFull_NextChunkIsNewWhileALineOfTheFirstIsUnreleased_ReusedOnceAllAre()
    {
        var arena = new SpoolLineArena();
        var lines = WriteUntilSecondChunk(arena, 'a');
        var first = lines.Where(l => SameChunk(l, lines[0])).ToList();
        Assert.True(first.Count > 1 && first.Count < lines.Count);

        // Every line of the first chunk but one copied: its bytes must survive the next chunk's lines.
        first.Skip(1).ToList().ForEach(l => l.Release());
        var more = WriteUntilSecondChunk(arena, 'b');
        Assert.DoesNotContain(more, l => SameChunk(l, lines[0]));
        Assert.Equal(Line('a', 0), Encoding.UTF8.GetString(first[0].Span));

        // The last one copied (and the arena long moved on): the chunk comes back for new lines.
        first[0].Release();
        var again = WriteUntilSecondChunk(arena, 'c');
        Assert.Contains(again, l => SameChunk(l, lines[0]));
    }

    [Fact]
    public void TryWrite_LineLargerThanAChunk_FalseAndTheArenaStillWorks()
    {
        var arena = new SpoolLineArena();
        var huge = new byte[SpoolLineArena.ChunkBytes + 1];

        Assert.False(arena.TryWrite(huge, Copy, out var none));
        Assert.False(none.HasValue);
        Assert.True(arena.TryWrite(Encoding.UTF8.GetBytes("m f=1 1"), Copy, out var line));
        Assert.Equal("m f=1 1", Encoding.UTF8.GetString(line.Span));
    }

    [Fact]
    public async Task AppendAsync_ArenaLine_StoredAsTheSameRecordAsTheStringLine()
    {
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = _directory, Fsync = false, CommitInterval = TimeSpan.Zero }),
            _metrics,
            new FakeTimeProvider(new DateTimeOffset(2026, 12, 7, 15, 0, 0, TimeSpan.Zero)),
            NullLogger<DurableSpool>.Instance);
        await spool.StartAsync(CancellationToken.None);
        const string Text = "street_light,device_id=lamp-é dim_pct=80,note=\"😀 \\\"x\\\"\" 1764367170250000000";
        var arena = new SpoolLineArena();
        Assert.True(arena.TryWrite(Encoding.UTF8.GetBytes(Text), Copy, out var utf8));

        var acks = 0;
        Task Ack(CancellationToken _)
        {
            Interlocked.Increment(ref acks);
            return Task.CompletedTask;
        }

        Assert.True(await spool.AppendAsync(new BufferedMessage(Text, true, Ack), CancellationToken.None));
        Assert.True(await spool.AppendAsync(new BufferedMessage(null, true, Ack) { Utf8Line = utf8 }, CancellationToken.None));
        await _metrics.WaitUntilAsync(_ => Volatile.Read(ref acks) == 2, Timeout);
        using (var batch = await spool.ReadBatchAsync(10, CancellationToken.None))
        {
            Assert.Equal([Text, Text], batch.DecodeLines());
        }

        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        spool.Dispose();

        // Same clock, flags and line: the two records (header, CRC, line) are the same bytes.
        var segment = File.ReadAllBytes(Assert.Single(Directory.GetFiles(_directory, "*.seg")));
        Assert.Equal(segment.Length / 2 * 2, segment.Length);
        Assert.Equal(segment[..(segment.Length / 2)], segment[(segment.Length / 2)..]);
    }

    private static bool Copy(byte[] line, Span<byte> destination, out int written)
    {
        written = line.Length;
        return line.AsSpan().TryCopyTo(destination);
    }

    private static string Line(char c, int i) => $"m,t={c} f={i}i {i}";

    private static bool SameChunk(SpoolLine a, SpoolLine b) => a.Chunk is not null && ReferenceEquals(a.Chunk, b.Chunk);

    /// <summary>Writes lines until one lands in a second chunk; returns all of them.</summary>
    private static List<SpoolLine> WriteUntilSecondChunk(SpoolLineArena arena, char c)
    {
        var lines = new List<SpoolLine>();
        for (var i = 0; ; i++)
        {
            Assert.True(arena.TryWrite(Encoding.UTF8.GetBytes(Line(c, i)), Copy, out var line));
            lines.Add(line);
            if (!SameChunk(line, lines[0]))
            {
                return lines;
            }
        }
    }
}

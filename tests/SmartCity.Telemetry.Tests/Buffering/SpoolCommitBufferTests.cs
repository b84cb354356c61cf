using SmartCity.Telemetry.Buffering;

namespace SmartCity.Telemetry.Tests.Buffering;

public sealed class SpoolCommitBufferTests
{
    [Fact]
    public void WriteTo_RecordsAcrossChunksAndOneLongerThanAChunk_WritesTheBytesInOrderEachRecordWhole()
    {
        var buffer = new SpoolCommitBuffer();
        using var expected = new MemoryStream();
        var sizes = new[] { 40_000, 30_000, 200_000, 10, 65_536, 1 };
        for (var i = 0; i < sizes.Length; i++)
        {
            var span = buffer.GetSpan(sizes[i]);
            Assert.True(span.Length >= sizes[i]); // one span per record: never split between chunks
            span[..sizes[i]].Fill((byte)(i + 1));
            buffer.Advance(sizes[i]);
            expected.Write(Enumerable.Repeat((byte)(i + 1), sizes[i]).ToArray());
        }

        using var written = new MemoryStream();
        buffer.WriteTo(written);

        Assert.Equal(sizes.Sum(), buffer.WrittenCount);
        Assert.Equal(expected.ToArray(), written.ToArray());
    }

    [Fact]
    public void Trim_AfterEightSmallCommitsFollowingABurst_KeepsOneChunk()
    {
        var buffer = new SpoolCommitBuffer();
        Commit(buffer, 4_096 * 400); // a burst: a full commit batch of 400-byte records
        var burst = buffer.ChunkCount;
        Assert.Equal((4_096 + 162) / 163, burst); // 163 records a chunk

        for (var i = 0; i < SpoolCommitBuffer.Recent - 1; i++)
        {
            Commit(buffer, 500);
            Assert.Equal(burst, buffer.ChunkCount); // the burst is among the last commits: its chunks serve the next one
        }

        Commit(buffer, 500);
        Assert.Equal(1, buffer.ChunkCount);
        Assert.Equal(0, buffer.WrittenCount);
    }

    private static void Commit(SpoolCommitBuffer buffer, int bytes)
    {
        buffer.Reset();
        for (var left = bytes; left > 0; left -= 400)
        {
            buffer.GetSpan(400);
            buffer.Advance(Math.Min(400, left));
        }

        buffer.Trim();
    }
}

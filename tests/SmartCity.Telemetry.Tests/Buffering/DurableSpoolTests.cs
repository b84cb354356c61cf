using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Pipeline;

namespace SmartCity.Telemetry.Tests.Buffering;

public sealed class DurableSpoolTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "smartcity-spool-tests-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 28, 22, 0, 0, TimeSpan.Zero));
    private readonly PipelineMetrics _metrics = new();
    private readonly ConcurrentQueue<string> _acks = new();

    public void Dispose()
    {
        _metrics.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task<DurableSpool> OpenAsync(long maxBytes = 1024 * 1024, long segmentBytes = 64 * 1024, TimeSpan? maxAge = null)
    {
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = _directory, MaxBytes = maxBytes, SegmentBytes = segmentBytes, MaxAge = maxAge ?? TimeSpan.FromDays(7), CommitBatch = 64 }),
            _metrics, _time, NullLogger<DurableSpool>.Instance);
        await spool.StartAsync(CancellationToken.None);
        return spool;
    }

    private static async Task CloseAsync(DurableSpool spool)
    {
        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        spool.Dispose();
    }

    private BufferedMessage Message(string line) => new(line, false, _ =>
    {
        _acks.Enqueue(line);
        return Task.CompletedTask;
    });

    private async Task AppendAndWaitForAcksAsync(DurableSpool spool, IEnumerable<string> lines)
    {
        var expected = _acks.Count;
        foreach (var line in lines)
        {
            Assert.True(await spool.AppendAsync(Message(line), CancellationToken.None));
            expected++;
        }

        await _metrics.WaitUntilAsync(_ => _acks.Count >= expected, Timeout);
    }

    private static async Task<List<string>> ReadAllAsync(DurableSpool spool, int expected, bool commit = true)
    {
        var lines = new List<string>();
        using var cts = new CancellationTokenSource(Timeout);
        while (lines.Count < expected)
        {
            var batch = await spool.ReadBatchAsync(1000, cts.Token);
            lines.AddRange(batch.Lines);
            if (commit)
            {
                spool.Commit(batch);
            }
        }

        return lines;
    }

    [Fact]
    public async Task Append_AcknowledgesAfterWriteAndReadsBackInOrder()
    {
        var spool = await OpenAsync();
        var lines = Enumerable.Range(0, 500).Select(i => $"m v={i} {i}").ToList();

        await AppendAndWaitForAcksAsync(spool, lines);

        Assert.Equal(lines, _acks);
        Assert.Equal(500, spool.Depth);
        Assert.Equal(lines, await ReadAllAsync(spool, 500));
        Assert.Equal(0, spool.Depth);
        await CloseAsync(spool);
    }

    [Fact]
    public async Task Reopen_AfterCrashBeforeCommit_ReplaysEverythingNotCommitted()
    {
        var spool = await OpenAsync();
        var lines = Enumerable.Range(0, 300).Select(i => $"m v={i} {i}").ToList();
        await AppendAndWaitForAcksAsync(spool, lines);
        var first = await spool.ReadBatchAsync(100, CancellationToken.None);
        spool.Commit(first);
        await spool.ReadBatchAsync(100, CancellationToken.None); // read, never committed: the process "dies" here
        await CloseAsync(spool);

        var reopened = await OpenAsync();

        Assert.Equal(300 - first.Records, reopened.Depth);
        Assert.Equal(lines.Skip(first.Records), await ReadAllAsync(reopened, 300 - first.Records));
        await CloseAsync(reopened);
    }

    [Fact]
    public async Task Reopen_TornWriteAtTail_CutBackToLastIntactRecord()
    {
        var spool = await OpenAsync();
        await AppendAndWaitForAcksAsync(spool, ["m v=1 1", "m v=2 2"]);
        await CloseAsync(spool);
        var segment = Directory.GetFiles(_directory, "*.seg").Single();
        var intactLength = new FileInfo(segment).Length;
        await using (var f = new FileStream(segment, FileMode.Append))
        {
            // Half a record: what a crash in the middle of a write leaves.
            f.Write([SpoolRecord.Magic, 0, 50, 0, 0, 0, 1, 2, 3]);
        }

        var reopened = await OpenAsync();

        Assert.Equal(intactLength, new FileInfo(segment).Length);
        Assert.Equal(["m v=1 1", "m v=2 2"], await ReadAllAsync(reopened, 2));
        await AppendAndWaitForAcksAsync(reopened, ["m v=3 3"]);
        Assert.Equal(["m v=3 3"], await ReadAllAsync(reopened, 1));
        await CloseAsync(reopened);
    }

    [Fact]
    public async Task Commit_ConsumedSegments_DeletedAndCursorSurvivesRestart()
    {
        var spool = await OpenAsync(segmentBytes: 64 * 1024);
        var lines = Enumerable.Range(0, 3000).Select(i => $"street_light,device_id=lamp-{i:000000} power_w={i} {i}000000").ToList();
        await AppendAndWaitForAcksAsync(spool, lines);
        Assert.True(Directory.GetFiles(_directory, "*.seg").Length > 1, "expected several segments");

        Assert.Equal(lines, await ReadAllAsync(spool, lines.Count));
        await CloseAsync(spool);

        Assert.Single(Directory.GetFiles(_directory, "*.seg"));
        var reopened = await OpenAsync(segmentBytes: 64 * 1024);
        Assert.Equal(0, reopened.Depth);
        await CloseAsync(reopened);
    }

    [Fact]
    public async Task Append_AtSizeBound_PausesIntakeWithoutAcknowledgingUntilStorageFreesSpace()
    {
        var spool = await OpenAsync(maxBytes: 128 * 1024, segmentBytes: 64 * 1024);
        var line = new string('x', 1000);
        const int Sent = 400; // about 400 KB: three times the bound
        // The producer plays the MQTT handler: it waits when the spool stops taking records.
        var producer = Task.Run(async () =>
        {
            for (var i = 0; i < Sent; i++)
            {
                Assert.True(await spool.AppendAsync(Message($"{line} {i}"), CancellationToken.None));
            }
        });

        var s = await _metrics.WaitUntilAsync(s => s.SpoolFull, Timeout);
        Assert.Equal(1, s.SpoolFullEvents);
        Assert.True(spool.BytesOnDisk <= 128 * 1024, $"{spool.BytesOnDisk} bytes on disk");
        Assert.True(_acks.Count < Sent, "messages beyond the bound must not be acknowledged");
        Assert.False(producer.IsCompleted);

        // Storage catches up: space frees, intake resumes, every message is acknowledged and read in order.
        var read = await ReadAllAsync(spool, Sent);
        await producer.WaitAsync(Timeout);
        await _metrics.WaitUntilAsync(_ => _acks.Count == Sent, Timeout);
        Assert.Equal(Enumerable.Range(0, Sent).Select(i => $"{line} {i}"), read);
        Assert.False(_metrics.Snapshot().SpoolFull);
        await CloseAsync(spool);
    }

    [Fact]
    public async Task Read_RecordsOlderThanMaxAge_ExpiredAndCounted()
    {
        var spool = await OpenAsync(maxAge: TimeSpan.FromHours(1));
        await AppendAndWaitForAcksAsync(spool, ["m v=1 1", "m v=2 2"]);
        _time.Advance(TimeSpan.FromHours(2));
        await AppendAndWaitForAcksAsync(spool, ["m v=3 3"]);

        var batch = await spool.ReadBatchAsync(10, CancellationToken.None);

        Assert.Equal(["m v=3 3"], batch.Lines);
        Assert.Equal(2, batch.Expired);
        Assert.Equal(2, _metrics.Snapshot().SpoolExpired);
        spool.Commit(batch);
        Assert.Equal(0, spool.Depth);
        await CloseAsync(spool);
    }

    [Fact]
    public async Task Read_CorruptRecordInMiddle_SkipsRestOfSegmentAndCounts()
    {
        var spool = await OpenAsync();
        await AppendAndWaitForAcksAsync(spool, ["m v=1 1", "m v=2 2", "m v=3 3"]);
        await CloseAsync(spool);
        var segment = Directory.GetFiles(_directory, "*.seg").Single();
        var bytes = await File.ReadAllBytesAsync(segment);
        var second = SpoolRecord.HeaderSize + "m v=1 1".Length;
        bytes[second + SpoolRecord.HeaderSize] ^= 0xFF; // flip a byte of the second line: bit rot, not a torn write
        await File.WriteAllBytesAsync(segment, bytes);

        var reopened = await OpenAsync();
        var batch = await reopened.ReadBatchAsync(10, CancellationToken.None);

        Assert.Equal(["m v=1 1"], batch.Lines);
        await CloseAsync(reopened);
    }

    [Fact]
    public async Task WaitUntilEmpty_CompletesWhenEverythingCommitted()
    {
        var spool = await OpenAsync();
        await AppendAndWaitForAcksAsync(spool, ["m v=1 1"]);
        spool.CompleteIntake();
        var empty = spool.WaitUntilEmptyAsync(CancellationToken.None);
        Assert.False(empty.IsCompleted);

        spool.Commit(await spool.ReadBatchAsync(10, CancellationToken.None));

        await empty.WaitAsync(Timeout);
        Assert.True((await spool.ReadBatchAsync(10, CancellationToken.None)).IsFinal);
        await CloseAsync(spool);
    }
}

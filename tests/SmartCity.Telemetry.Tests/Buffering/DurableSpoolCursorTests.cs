using System.Collections.Concurrent;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>Named cursors: a second sink reads the same spool; a segment goes only once every cursor has passed it.</summary>
public sealed class DurableSpoolCursorTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "smartcity-spool-cursor-tests-" + Guid.NewGuid().ToString("N"));
    private readonly PipelineMetrics _metrics = new();

    public void Dispose()
    {
        _metrics.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private DurableSpool NewSpool() => new(
        Options.Create(new SpoolOptions { Directory = _directory, Fsync = false, SegmentBytes = 4 * 1024, CommitBatch = 64, CommitInterval = TimeSpan.Zero }),
        _metrics, TimeProvider.System, NullLogger<DurableSpool>.Instance);

    private static List<string> Lines(int count, string prefix = "m") =>
        Enumerable.Range(0, count).Select(i => $"{prefix},device=d{i:D5} f={i}i {i}").ToList();

    private async Task AppendAsync(DurableSpool spool, IEnumerable<string> lines)
    {
        var acked = _metrics.Snapshot().Acknowledged;
        var count = 0;
        foreach (var line in lines)
        {
            Assert.True(await spool.AppendAsync(new BufferedMessage(line, false, _ => Task.CompletedTask), CancellationToken.None));
            count++;
        }

        await _metrics.WaitUntilAsync(s => s.Acknowledged >= acked + count, Timeout);
    }

    private string[] Segments() => Directory.GetFiles(_directory, "*.seg").Order().ToArray();

    private InfluxSink NewInfluxSink(DurableSpool spool, IPointWriter writer) => new(
        spool, writer, _metrics, new DeadLetters(),
        Options.Create(new InfluxSinkOptions
        {
            Url = "http://unused", Token = "t", Org = "o", Bucket = "b", BatchSize = 100, BatchLinger = TimeSpan.Zero,
            RetryBaseDelay = TimeSpan.FromSeconds(1), RetryMaxDelay = TimeSpan.FromSeconds(30),
        }),
        TimeProvider.System, NullLogger<InfluxSink>.Instance);

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            Assert.False(deadline.IsCancellationRequested, "timed out waiting until " + what);
            await Task.Yield();
        }
    }

    [Fact]
    public async Task Cursors_InfluxSinkAndTestSink_EachGetEveryRecordOnceAndSegmentsWaitForBoth()
    {
        var spool = NewSpool();
        var audit = new CursorSink(spool.Cursor("audit"));
        var writer = new RecordingWriter();
        var influx = NewInfluxSink(spool, writer);
        await spool.StartAsync(CancellationToken.None);
        await influx.StartAsync(CancellationToken.None);
        var lines = Lines(600); // about 20 KB: several 4 KiB segments

        await AppendAsync(spool, lines);
        await WaitUntilAsync(() => spool.Cursor(DurableSpool.DefaultCursorName).Depth == 0, "the InfluxDB sink committed everything");

        // The InfluxDB sink has passed every segment; the audit cursor has not moved, so all stay.
        var segmentsBeforeAudit = Segments();
        Assert.True(segmentsBeforeAudit.Length > 2, $"only {segmentsBeforeAudit.Length} segments");
        Assert.Equal(lines.Count, spool.Depth);

        spool.CompleteIntake();
        await audit.RunAsync(CancellationToken.None).WaitAsync(Timeout);
        await spool.WaitUntilEmptyAsync(CancellationToken.None).WaitAsync(Timeout);
        await influx.StopAsync(CancellationToken.None);
        await spool.StopAsync(CancellationToken.None);

        Assert.Equal(lines, writer.Lines);
        Assert.Equal(lines, audit.Lines);
        // Now both have passed them: only the tail is left.
        Assert.Equal([segmentsBeforeAudit[^1]], Segments());
        Assert.Equal(new FileInfo(segmentsBeforeAudit[^1]).Length, spool.BytesOnDisk);
        influx.Dispose();
        spool.Dispose();
    }

    [Fact]
    public async Task Start_OldSingleCursorFile_IsTheDefaultCursorAndANewCursorReadsFromTheOldestSegment()
    {
        // A spool as the single-cursor spool left it: six records, three stored, the position in "cursor".
        var lines = Lines(6);
        var old = NewSpool();
        await old.StartAsync(CancellationToken.None);
        await AppendAsync(old, lines);
        using (var stored = await old.ReadBatchAsync(3, CancellationToken.None))
        {
            old.Commit(stored);
        }

        old.CompleteIntake();
        await old.StopAsync(CancellationToken.None);
        old.Dispose();
        Assert.Equal(["cursor"], Directory.GetFiles(_directory, "cursor*").Select(Path.GetFileName));

        var spool = NewSpool();
        var audit = new CursorSink(spool.Cursor("audit"));
        await spool.StartAsync(CancellationToken.None);
        spool.CompleteIntake();
        var influx = new CursorSink(spool.Cursor(DurableSpool.DefaultCursorName));
        await influx.RunAsync(CancellationToken.None).WaitAsync(Timeout);
        await audit.RunAsync(CancellationToken.None).WaitAsync(Timeout);
        await spool.StopAsync(CancellationToken.None);
        spool.Dispose();

        Assert.Equal(lines.Skip(3), influx.Lines);
        Assert.Equal(lines, audit.Lines);
        Assert.Equal(["cursor", "cursor.audit"], Directory.GetFiles(_directory, "cursor*").Select(Path.GetFileName).Order());
    }

    /// <summary>
    /// Recovery's fix for a cursor left in a deleted segment (a power loss kept an older cursor file)
    /// holds for every cursor, not only the default one: the second cursor starts the next segment at 0.
    /// </summary>
    [Fact]
    public async Task Reopen_SecondCursorInADeletedSegment_StoresAllOfTheNextSegmentLeft()
    {
        var lines = Lines(600);
        var spool = NewSpool();
        var audit = spool.Cursor("audit");
        await spool.StartAsync(CancellationToken.None);
        await AppendAsync(spool, lines);
        // The segment of each line: read one at a time, nothing committed.
        var segmentOf = new List<long>();
        foreach (var _ in lines)
        {
            using var one = await audit.ReadBatchAsync(1, CancellationToken.None);
            segmentOf.Add(one.End.Segment);
        }

        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        spool.Dispose();
        // Both cursors had passed the first two segments and those were deleted, but the audit
        // cursor's file kept a position from before, inside the second (old text format: segment, offset).
        var segments = segmentOf.Distinct().ToList();
        Assert.True(segments.Count > 3, $"only {segments.Count} segments");
        File.Delete(Path.Combine(_directory, $"{segments[0]:D16}.seg"));
        File.Delete(Path.Combine(_directory, $"{segments[1]:D16}.seg"));
        File.WriteAllText(Path.Combine(_directory, "cursor"), $"{segments[2]} 0");
        File.WriteAllText(Path.Combine(_directory, "cursor.audit"), $"{segments[1]} 2000");

        var reopened = NewSpool();
        var auditSink = new CursorSink(reopened.Cursor("audit"));
        await reopened.StartAsync(CancellationToken.None);
        var left = lines.Where((_, i) => segmentOf[i] >= segments[2]).ToList();
        Assert.Equal(left.Count, reopened.Cursor("audit").Depth);
        reopened.CompleteIntake();
        await auditSink.RunAsync(CancellationToken.None).WaitAsync(Timeout);
        await reopened.StopAsync(CancellationToken.None);
        reopened.Dispose();

        Assert.Equal(left, auditSink.Lines);
        Assert.Equal(0, _metrics.Snapshot().SpoolCorrupt);
    }

    [Fact]
    public async Task Cursor_NamedAfterStart_Refused()
    {
        var spool = NewSpool();
        await spool.StartAsync(CancellationToken.None);

        Assert.Throws<InvalidOperationException>(() => spool.Cursor("late"));
        Assert.Same(spool.Cursor(DurableSpool.DefaultCursorName), spool.Cursor(DurableSpool.DefaultCursorName));
        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        spool.Dispose();
    }

    /// <summary>The InfluxDB sink's writer, recording each line it was given instead of posting it.</summary>
    private sealed class RecordingWriter : IPointWriter
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public Task WriteAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
        {
            foreach (var line in Encoding.UTF8.GetString(body.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries))
            {
                _lines.Enqueue(line);
            }

            return Task.CompletedTask;
        }

        public Task<bool> PingAsync(CancellationToken cancellationToken) => Task.FromResult(true);
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>The spool on a real 1 MiB tmpfs: appends hit ENOSPC long before Spool:MaxBytes.</summary>
public sealed class DurableSpoolDiskFullTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [RootFact]
    public Task Append_DiskFull_PausesAndDrainsEveryAcknowledgedRecord() => FillDrainAndReadBackAsync(segmentBytes: 64 * 1024);

    /// <summary>
    /// One segment holds the whole disk (Spool:SegmentBytes' default of 16 MiB on a 1 MiB volume):
    /// storage drains all of it, yet the segment was deleted only once the cursor passed into a later
    /// one, which the full disk never let start. Intake stalled for good (issue 15 at worker level).
    /// </summary>
    [RootFact]
    public Task Append_DiskFullWithinOneSegment_StorageFreesTheSegmentAndIntakeResumes() => FillDrainAndReadBackAsync(segmentBytes: 16 * 1024 * 1024);

    private static async Task FillDrainAndReadBackAsync(long segmentBytes)
    {
        using var fs = new TinyFileSystem("1m");
        using var metrics = new PipelineMetrics();
        using var disk = new DiskHealth();
        var acks = new ConcurrentQueue<string>();
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = Path.Combine(fs.Root, "spool"), MaxBytes = 1L << 30, SegmentBytes = segmentBytes, Fsync = false, CommitBatch = 64, CommitInterval = TimeSpan.Zero }),
            metrics, TimeProvider.System, NullLogger<DurableSpool>.Instance, disk);
        await spool.StartAsync(CancellationToken.None);

        // About 3 MiB of records for a 1 MiB disk.
        var lines = Enumerable.Range(0, 12_000).Select(i => $"street_light,device=lamp-{i:D6} power_w={i % 2000}i,pad=\"{new string('x', 200)}\" {i}").ToList();
        var producer = Task.Run(async () =>
        {
            foreach (var line in lines)
            {
                Assert.True(await spool.AppendAsync(new BufferedMessage(line, false, _ => { acks.Enqueue(line); return Task.CompletedTask; }), CancellationToken.None));
            }
        });

        await WaitUntilAsync(() => spool.IsDiskFull || producer.IsCompleted);
        Assert.True(spool.IsDiskFull, "the disk never filled");
        Assert.True(spool.IsFull);
        Assert.Contains(disk.Problems, p => p.Component == "spool" && p.Error == "disk full");
        var ackedWhileFull = acks.Count;
        Assert.True(ackedWhileFull < lines.Count);
        Assert.False(spool.ExecuteTask!.IsCompleted);

        // Storage comes back: committing frees segments, intake resumes by itself, and everything acknowledged is read back once, in order.
        var read = new List<string>();
        using var cts = new CancellationTokenSource(Timeout);
        while (read.Count < lines.Count)
        {
            using var batch = await spool.ReadBatchAsync(500, cts.Token);
            read.AddRange(batch.DecodeLines());
            spool.Commit(batch);
        }

        await producer.WaitAsync(Timeout);
        Assert.Equal(lines, read);
        Assert.Equal(lines.Count, acks.Count);
        Assert.False(spool.IsDiskFull);
        Assert.Empty(disk.Problems);
        Assert.True(disk.Episodes >= 1);
        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        Assert.False(spool.ExecuteTask.IsFaulted);
        spool.Dispose();
    }

    /// <summary>
    /// An I/O error while committing (here: segments that cannot be deleted, the spool folder made
    /// immutable) escaped Commit into the sink and stopped the worker. Now it is a state, and the
    /// next commit deletes what was consumed.
    /// </summary>
    [RootFact]
    public async Task Commit_ConsumedSegmentsCannotBeDeleted_StateThenDeletedAtTheNextCommit()
    {
        using var fs = new TinyFileSystem("4m");
        using var metrics = new PipelineMetrics();
        using var disk = new DiskHealth();
        var directory = Path.Combine(fs.Root, "spool");
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = directory, MaxBytes = 1L << 30, SegmentBytes = 64 * 1024, Fsync = false, CommitBatch = 64, CommitInterval = TimeSpan.Zero }),
            metrics, TimeProvider.System, NullLogger<DurableSpool>.Instance, disk);
        await spool.StartAsync(CancellationToken.None);
        var lines = Enumerable.Range(0, 3000).Select(i => $"street_light,device_id=lamp-{i:000000} power_w={i} {i}000000").ToList();
        await AppendAndWaitForAcksAsync(spool, lines);
        Assert.True(Directory.GetFiles(directory, "*.seg").Length > 1, "expected several segments");

        TinyFileSystem.SetImmutable(directory, true);
        try
        {
            Assert.Equal(lines, await ReadAndCommitAsync(spool, lines.Count));
            Assert.Contains(disk.Problems, p => p.Component == "spool commit" && p.Path == directory);
            Assert.True(Directory.GetFiles(directory, "*.seg").Length > 1, "consumed segments were deleted in an immutable folder");
        }
        finally
        {
            TinyFileSystem.SetImmutable(directory, false);
        }

        await AppendAndWaitForAcksAsync(spool, ["m v=1 1"]);
        Assert.Equal(["m v=1 1"], await ReadAndCommitAsync(spool, 1));
        Assert.Single(Directory.GetFiles(directory, "*.seg"));
        Assert.Empty(disk.Problems);
        Assert.Equal(1, disk.Episodes);
        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        Assert.False(spool.ExecuteTask!.IsFaulted);
        spool.Dispose();
    }

    private static async Task AppendAndWaitForAcksAsync(DurableSpool spool, List<string> lines)
    {
        var acked = 0;
        var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var line in lines)
        {
            Assert.True(await spool.AppendAsync(new BufferedMessage(line, false, _ =>
            {
                if (Interlocked.Increment(ref acked) == lines.Count)
                {
                    all.TrySetResult();
                }

                return Task.CompletedTask;
            }), CancellationToken.None));
        }

        await all.Task.WaitAsync(Timeout);
    }

    private static async Task<List<string>> ReadAndCommitAsync(DurableSpool spool, int count)
    {
        var read = new List<string>();
        using var cts = new CancellationTokenSource(Timeout);
        while (read.Count < count)
        {
            using var batch = await spool.ReadBatchAsync(500, cts.Token);
            read.AddRange(batch.DecodeLines());
            spool.Commit(batch);
        }

        return read;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }
}

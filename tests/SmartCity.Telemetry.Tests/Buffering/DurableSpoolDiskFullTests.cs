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
    public async Task Append_DiskFull_PausesAndDrainsEveryAcknowledgedRecord()
    {
        using var fs = new TinyFileSystem("1m");
        using var metrics = new PipelineMetrics();
        using var disk = new DiskHealth();
        var acks = new ConcurrentQueue<string>();
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = Path.Combine(fs.Root, "spool"), MaxBytes = 1L << 30, SegmentBytes = 64 * 1024, Fsync = false, CommitBatch = 64, CommitInterval = TimeSpan.Zero }),
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

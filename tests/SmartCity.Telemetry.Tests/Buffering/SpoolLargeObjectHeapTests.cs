using System.Runtime;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using Xunit.Abstractions;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>
/// What the spool keeps on the large-object heap once a burst has gone through it (issue 25: the worker's LOH held
/// 22-23 MB at max rate in every GC setting, so held, not garbage). The burst goes through the real spool (its writer's
/// group commit and its cursor) and is read the way InfluxSink reads it: batches of up to 5,000 lines, two writes in
/// flight, one being read, each batch disposed when its write would have ended. Batch sizes vary as they do when the
/// sink catches up with intake, which is what makes the body sizes vary.
/// </summary>
[Collection("MeasuredAlone")] // reads the whole process's LOH, which a test running beside it would move
public sealed class SpoolLargeObjectHeapTests(ITestOutputHelper output) : IDisposable
{
    private const int SinkBatch = 5_000;
    private const int WritesInFlight = 2;

    // Lines appended before each read: full batches, trickles and partial ones, as intake and the sink's pace vary.
    private static readonly int[] Arrivals = [5_000, 40, 5_000, 700, 3_000, 12_000, 10, 1_500, 5_000, 300, 9_000, 80];

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "smartcity-spool-loh-" + Guid.NewGuid().ToString("N"));
    private int _appended;

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task ReadBatches_AfterABurstOf12Rounds_LargeObjectHeapHoldsAtMost6Mb()
    {
        using var metrics = new PipelineMetrics();
        var before = LargeObjectHeap();
        var spool = await OpenAsync(metrics);
        var lines = await BurstAsync(spool, metrics, Arrivals);
        var after = LargeObjectHeap();
        await DurableSpoolTests.CloseAsync(spool);
        GC.KeepAlive(spool);
        var held = after - before;
        output.WriteLine($"{lines:N0} lines; LOH before {before / 1e6:F2} MB, after the burst {after / 1e6:F2} MB: the spool holds {held / 1e6:F2} MB");

        Assert.True(held <= MaxHeldBytes, $"the spool holds {held / 1e6:F2} MB on the LOH after the burst (bound {MaxHeldBytes / 1e6:F1} MB)");
    }

    [Fact]
    public async Task ReadBatches_PacedAfterABurst_LargeObjectHeapHoldsAtMostOneAndAHalfMb()
    {
        using var metrics = new PipelineMetrics();
        var before = LargeObjectHeap();
        var spool = await OpenAsync(metrics);
        await BurstAsync(spool, metrics, Arrivals);
        var burst = LargeObjectHeap();

        // A city's paced rate again: 2,000 msg/s lingered 100 ms by the sink is 200 lines a batch.
        await BurstAsync(spool, metrics, Enumerable.Repeat(200, 12).ToArray());
        var paced = LargeObjectHeap();
        await DurableSpoolTests.CloseAsync(spool);
        GC.KeepAlive(spool);
        output.WriteLine($"the spool holds {(burst - before) / 1e6:F2} MB on the LOH after the burst, {(paced - before) / 1e6:F2} MB after 12 paced batches");

        Assert.True(paced - before <= MaxHeldPacedBytes, $"the spool holds {(paced - before) / 1e6:F2} MB on the LOH at a paced rate after a burst (bound {MaxHeldPacedBytes / 1e6:F1} MB)");
    }

    // wt-int (2c8462e) held 10.85 MB after the burst (the cursor's pool kept up to 4 bodies in every power-of-two size from
    // 128 KB to 2 MB: 8.59 MB, and the writer's buffer stayed at its burst size: 2.26 MB), and as much once paced again.
    // The bound after the burst is the bodies a sink uses at once: 2 in flight + 1 being read, about 2 MB each for 5,000
    // of these lines. Paced (measured 1.02 MB): three 128 KB bodies of 200 lines, and what does not depend on the rate:
    // the intake queue (Spool:CommitBatch x 2 messages, about 256 KB once a burst filled it) and the writer's batch list
    // (CommitBatch messages, 128 KB).
    private const long MaxHeldBytes = 6L * 1024 * 1024 + 512 * 1024;
    private const long MaxHeldPacedBytes = 1536 * 1024;

    // The metrics are each test's own: they hold the spool, and a field would keep one test's spool alive into the next one's measurement.
    private async Task<DurableSpool> OpenAsync(PipelineMetrics metrics)
    {
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = _directory, Fsync = false, CommitInterval = TimeSpan.Zero, MaxBytes = 1L << 30, SegmentBytes = 64L << 20 }),
            metrics, TimeProvider.System, NullLogger<DurableSpool>.Instance);
        await spool.StartAsync(CancellationToken.None);
        return spool;
    }

    /// <summary>Appends each round's lines, waits until they are durable, reads one batch like the sink; returns the lines read.</summary>
    private async Task<int> BurstAsync(DurableSpool spool, PipelineMetrics metrics, int[] arrivals)
    {
        var acked = 0;
        Func<CancellationToken, Task> ack = _ =>
        {
            Interlocked.Increment(ref acked);
            return Task.CompletedTask;
        };
        var inFlight = new Queue<SpoolBatch>();
        var appended = _appended;
        var first = appended;
        var read = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        foreach (var round in arrivals)
        {
            for (var i = 0; i < round; i++, appended++)
            {
                Assert.True(await spool.AppendAsync(new BufferedMessage(Line(appended), false, ack), cts.Token));
            }

            // Acknowledged = written to a segment: what the cursor can read.
            await metrics.WaitUntilAsync(_ => Volatile.Read(ref acked) >= appended - first, TimeSpan.FromSeconds(120));
            var batch = await spool.ReadBatchAsync(SinkBatch, cts.Token);
            spool.ReadMore(batch, SinkBatch);
            read += batch.LineCount;
            inFlight.Enqueue(batch);
            if (inFlight.Count > WritesInFlight)
            {
                Finish(spool, inFlight.Dequeue());
            }
        }

        while (inFlight.Count > 0)
        {
            Finish(spool, inFlight.Dequeue());
        }

        Assert.True(read >= arrivals.Sum() / 2, $"{read} lines read");
        _appended = appended;
        return read;
    }

    private static void Finish(DurableSpool spool, SpoolBatch batch)
    {
        spool.Commit(batch);
        batch.Dispose();
    }

    /// <summary>A street light's line with every profile field, about 380 bytes like the bench's.</summary>
    internal static string Line(int i) =>
        $"street_light,device_id=sl-{i % 80_000:D6},device_type=street_light,district=d{i % 40:D2},sector=lighting,site=avenue-{i % 700:D4} " +
        $"on=true,dim_level_pct=75i,power_w={120 + (i % 50)}.5,voltage_v=229.8,current_a=0.52,power_factor=0.95,energy_kwh={i}.25," +
        $"lux=12.5,temperature_c=31.5,lamp_fault=false,driver_fault=false,comm_fault=false,tilt_fault=false,burning_hours={i % 9_000}i {1_796_630_400_000_000_000L + i}";

    /// <summary>The large-object heap's live bytes after a full blocking collection that also compacts it.</summary>
    private static long LargeObjectHeap()
    {
        for (var i = 0; i < 2; i++)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetGCMemoryInfo(GCKind.FullBlocking).GenerationInfo[3].SizeAfterBytes;
    }
}

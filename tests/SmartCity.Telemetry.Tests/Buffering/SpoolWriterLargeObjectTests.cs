using System.Diagnostics.Tracing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;
using Xunit.Abstractions;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>
/// What the spool's writer allocates on the large-object heap while commits are big and small in turn, as at max rate
/// (a profile of the bench's max-rate run: 16 MB of LOH garbage in 55 s from its commit buffer growing again after each
/// small commit). Counted by the runtime's own allocation events (GCAllocationTick: one per 100 KB allocated on the LOH),
/// between two marker arrays the test allocates; alone in its collection, since those events are the whole process's.
/// </summary>
[Collection("MeasuredAlone")]
public sealed class SpoolWriterLargeObjectTests(ITestOutputHelper output) : IDisposable
{
    private const int CommitBatch = 4_096;
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "smartcity-spool-writer-loh-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 19, 0, 0, TimeSpan.Zero));
    private int _appended;
    private int _acked;
    private readonly SemaphoreSlim _ackedSignal = new(0);

    public void Dispose()
    {
        _ackedSignal.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task Commit_FullAndSmallCommitsInTurn_AllocatesUnder1MbOnTheLargeObjectHeap()
    {
        using var metrics = new PipelineMetrics();
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = _directory, CommitInterval = Interval, CommitGroup = CommitBatch, CommitBatch = CommitBatch, MaxBytes = 1L << 30, SegmentBytes = 64L << 20 }),
            metrics, _time, NullLogger<DurableSpool>.Instance);
        await spool.StartAsync(CancellationToken.None);
        // Warm-up: the queues reach their size (a commit batch of messages is itself an LOH array, once).
        await CommitAsync(spool, CommitBatch);
        await CommitAsync(spool, 40);

        using var loh = new LargeObjectAllocations();
        await loh.MarkAsync();
        for (var round = 0; round < 6; round++)
        {
            await CommitAsync(spool, CommitBatch);
            await CommitAsync(spool, 40);
        }

        var bytes = await loh.MarkAsync();
        await DurableSpoolTests.CloseAsync(spool);
        output.WriteLine($"FIGURES 6 x ({CommitBatch:N0} + 40 records): {bytes:N0} B allocated on the LOH ({loh.Describe()})");

        // A contiguous buffer grew from 64 KB through 128, 256, 512 KB and 1 MB (about 1.9 MB) after each small commit.
        Assert.True(bytes < 1024 * 1024, $"{bytes:N0} B allocated on the LOH by 12 commits: {loh.Describe()}");
    }

    /// <summary>Appends <paramref name="records"/> lines and waits until they are acknowledged, moving the fake clock a commit interval at a time.</summary>
    private async Task CommitAsync(DurableSpool spool, int records)
    {
        Func<CancellationToken, Task> ack = _ =>
        {
            Interlocked.Increment(ref _acked);
            _ackedSignal.Release();
            return Task.CompletedTask;
        };
        for (var i = 0; i < records; i++, _appended++)
        {
            Assert.True(await spool.AppendAsync(new BufferedMessage(SpoolLargeObjectHeapTests.Line(_appended), false, ack), CancellationToken.None));
        }

        // The group-commit wait ends on a full group or on the interval (fake time), whichever the writer waits for:
        // the clock moves on each time no acknowledgement came for a while, until all are in (a generous deadline).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (Volatile.Read(ref _acked) < _appended)
        {
            Assert.True(DateTime.UtcNow < deadline, $"{Volatile.Read(ref _acked)} of {_appended} acknowledged");
            if (!await _ackedSignal.WaitAsync(TimeSpan.FromMilliseconds(50)))
            {
                _time.Advance(Interval);
            }
        }
    }

    /// <summary>
    /// Sums the runtime's LOH allocation ticks between two marks. A mark allocates an array of a size nothing else uses
    /// and waits for its own tick (the events arrive on the runtime's dispatch thread, in order), so every tick of the
    /// work between two marks has arrived when the second returns.
    /// </summary>
    private sealed class LargeObjectAllocations : EventListener
    {
        private const int MarkerBytes = 3_333_331;
        private readonly Lock _lock = new();
        private readonly Dictionary<string, long> _byType = new(StringComparer.Ordinal);
        private readonly SemaphoreSlim _marked = new(0);
        private long _bytes;
        private int _seenMarks;

        public async Task<long> MarkAsync()
        {
            GC.KeepAlive(new byte[MarkerBytes]);
            Assert.True(await _marked.WaitAsync(TimeSpan.FromSeconds(120)), "the runtime's allocation event of the marker never arrived");

            lock (_lock)
            {
                return _bytes;
            }
        }

        public string Describe()
        {
            lock (_lock)
            {
                return _byType.Count == 0 ? "no LOH allocation" : string.Join(", ", _byType.Select(t => $"{t.Key} {t.Value:N0} B"));
            }
        }

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC: AllocationTick is verbose
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || e.Payload is not { } payload || e.PayloadNames is not { } names)
            {
                return;
            }

            var kind = Convert.ToInt64(payload[names.IndexOf("AllocationKind")], System.Globalization.CultureInfo.InvariantCulture);
            var amount = Convert.ToInt64(payload[names.IndexOf("AllocationAmount64")], System.Globalization.CultureInfo.InvariantCulture);
            var size = Convert.ToInt64(payload[names.IndexOf("ObjectSize")], System.Globalization.CultureInfo.InvariantCulture);
            var type = payload[names.IndexOf("TypeName")] as string ?? "?";
            if (kind != 1)
            {
                return;
            }

            lock (_lock)
            {
                if (size >= MarkerBytes && size < MarkerBytes + 64 && type == "System.Byte[]")
                {
                    // The marker's tick also carries what was allocated since the tick before it: that belongs before the mark.
                    _bytes = _seenMarks == 0 ? 0 : _bytes + Math.Max(0, amount - size);
                    if (_seenMarks == 0)
                    {
                        _byType.Clear();
                    }

                    _seenMarks++;
                    _marked.Release();
                    return;
                }

                _bytes += amount;
                _byType[type] = _byType.GetValueOrDefault(type) + amount;
            }
        }
    }
}

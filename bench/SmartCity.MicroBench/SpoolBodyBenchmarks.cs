using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using SmartCity.Simulators.Lighting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Composition;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.MicroBench;

/// <summary>
/// The storage stage's per-line work before the HTTP request: read a batch of 5,000 records from
/// the durable spool (a real segment file, page-cached) and build the write request's body. Figures
/// are per line (OperationsPerInvoke). The lines are the worker's own lines for the simulator's
/// street-light telemetry (the e2e benchmark's load).
/// </summary>
[MemoryDiagnoser]
[InvocationCount(1)] // each invocation consumes a batch; the iteration setup puts the next one on disk
public class SpoolBodyBenchmarks : IDisposable
{
    private const int BatchLines = 5_000;

    private string _directory = "";
    private PipelineMetrics _metrics = null!;
    private DurableSpool _spool = null!;
    private string[] _lines = [];
    private SpoolBatch? _batch;

    [GlobalSetup]
    public void Setup()
    {
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSmartCityPipeline(new ConfigurationBuilder().Build());
        var decoder = services.BuildServiceProvider().GetRequiredService<MessageDecoder>();
        var now = DateTimeOffset.UtcNow;
        var fleet = new StreetLightFleet(1_000, 4, "city", 1, now.AddHours(-1), TimeSpan.FromMinutes(1));
        _lines = Enumerable.Range(0, BatchLines).Select(i =>
        {
            var message = fleet.Create(i);
            var outcome = decoder.Decode(message.Topic, new ReadOnlySequence<byte>(message.Payload), now);
            return LineProtocol.Format(outcome.Result.Point ?? throw new InvalidOperationException($"rejected: {outcome.Result}"));
        }).ToArray();

        _directory = Path.Combine(Path.GetTempPath(), "smartcity-microbench-spool-" + Guid.NewGuid().ToString("N"));
        _metrics = new PipelineMetrics();
        _spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = _directory, Fsync = false, SegmentBytes = 64 * 1024 * 1024, MaxBytes = 1024L * 1024 * 1024 }),
            _metrics, TimeProvider.System, NullLogger<DurableSpool>.Instance);
        _spool.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    [GlobalCleanup]
    public void Cleanup() => Dispose();

    public void Dispose()
    {
        GC.SuppressFinalize(this);
        if (!Directory.Exists(_directory))
        {
            return;
        }

        _batch?.Dispose();
        _spool.CompleteIntake();
        _spool.StopAsync(CancellationToken.None).GetAwaiter().GetResult();
        _spool.Dispose();
        _metrics.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Puts one batch on disk (setup, not measured).</summary>
    [IterationSetup]
    public void Fill()
    {
        foreach (var line in _lines)
        {
            _spool.AppendAsync(new BufferedMessage(line, false, null), CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }

        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (_spool.Depth < BatchLines)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the spool holds {_spool.Depth} of {BatchLines} records after 30 s");
            }

            Thread.Sleep(1); // a benchmark's setup, outside the measurement
        }
    }

    /// <summary>Storage is done with the batch: commit it (cursor file, not measured) and give its buffers back.</summary>
    [IterationCleanup]
    public void Consume()
    {
        _spool.Commit(_batch!);
        _batch!.Dispose();
        _batch = null;
    }

    /// <summary>Today: records read into one pooled body, posted from there (no copy for WriteService since issue 25).</summary>
    [Benchmark(OperationsPerInvoke = BatchLines)]
    public int SpoolBatchToBody()
    {
        _batch = _spool.ReadBatchAsync(BatchLines, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        return _batch.LinesMemory(0, _batch.LineCount).Length;
    }

    /// <summary>
    /// Before (re-enacted on the same read): a string per line (the old SpoolBatch.Lines), then what
    /// InfluxDB.Client's WriteApiAsync.WriteRecordsAsync did with them (5.1, WriteData): a
    /// StringBuilder of lines, ToString, UTF-8 bytes. Leaves out the client's BatchWriteRecord per line,
    /// so it understates the old cost.
    /// </summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = BatchLines)]
    public int SpoolBatchToBody_OldStringPath()
    {
        _batch = _spool.ReadBatchAsync(BatchLines, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        var lines = new List<string>();
        for (var i = 0; i < _batch.LineCount; i++)
        {
            lines.Add(_batch.GetLine(i));
        }

        var joined = new StringBuilder("");
        foreach (var line in lines)
        {
            joined.Append(line).Append('\n');
        }

        joined.Remove(joined.Length - 1, 1);
        return Encoding.UTF8.GetBytes(joined.ToString()).Length;
    }
}

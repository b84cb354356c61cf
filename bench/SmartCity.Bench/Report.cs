using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench;

/// <summary>One throughput measurement: messages counted at the far end, over the time from the first publish to the last one counted.</summary>
public sealed record ThroughputResult(
    string Name,
    int Round,
    int Qos,
    long Published,
    long Counted,
    double Seconds,
    double Rate,
    double SteadyRate,
    double PublisherRate,
    long Lost,
    CpuReport Cpu,
    WorkerFigures? Worker,
    string Notes);

/// <summary>What the worker process used in a phase.</summary>
public sealed record WorkerFigures(
    int Instances,
    double CpuPercent,
    double CpuMicrosecondsPerMessage,
    long PeakRssKb,
    long IdleRssKb,
    long MaxSpoolDepth,
    IReadOnlyList<string> BusiestThreads,
    string Settings,
    IReadOnlyDictionary<string, double>? Runtime)
{
    /// <summary>Kernel events per message of the (first) worker over the window (<see cref="Infrastructure.KernelCounts"/>).</summary>
    public IReadOnlyDictionary<string, double>? KernelPerMessage { get; init; }

    /// <summary>Milliseconds the runtime spent in the JIT during the window (time-in-jit), null when not counted.</summary>
    public double? JitMsInWindow { get; init; }
}

public sealed record LatencyResult(
    string Name,
    double TargetRate,
    double PublishedRate,
    long Messages,
    long Measured,
    double P50Ms,
    double P90Ms,
    double P99Ms,
    double P999Ms,
    double MaxMs,
    double PublisherLatenessP99Ms,
    CpuReport Cpu,
    WorkerFigures Worker);

public sealed record MemoryResult(
    string Name,
    int Devices,
    long SimulatorPublished,
    double SimulatorSeconds,
    long Received,
    long PointsWritten,
    long DeadLetters,
    long? StreetLightDevicesStored,
    string? StreetLightDevicesError,
    long PeakRssKb,
    long RssAfterKb,
    long IdleRssKb,
    long RssAnonAfterKb,
    long RssFileAfterKb,
    double CpuPercent,
    IReadOnlyDictionary<string, long> RejectedByReason,
    string Command,
    string Settings,
    IReadOnlyDictionary<string, double>? Runtime,
    CpuReport? Cpu = null);

public sealed record InfluxRun(int Concurrency, double Seconds, double PointsPerSecond, long Stored, CpuReport Cpu);

public sealed record InfluxCeilingResult(long Points, int BatchSize, IReadOnlyList<InfluxRun> Runs)
{
    public double Ceiling => Runs.Count == 0 ? 0 : Runs.Max(r => r.PointsPerSecond);
}

/// <summary>
/// InfluxDB's own write latency at a paced rate: the worker's lines posted directly in batches due
/// every <see cref="IntervalMs"/> ms, each write timed from request to 2xx.
/// </summary>
public sealed record InfluxLatencyResult(
    string Name,
    double TargetRate,
    double PostedRate,
    int IntervalMs,
    int LinesPerBatch,
    int Batches,
    long Points,
    long Stored,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    double LateBatchesPercent,
    CpuReport Cpu);

/// <summary>Pipeline throughput against the ceilings measured in the same run (0.5 = half of the ceiling).</summary>
public sealed record BenchRatios(
    double? PipelineQos1OverBrokerQos1,
    double? PipelineQos1OverMosquittoSub,
    double? PipelineQos1OverInflux,
    double? PipelineQos0OverBrokerQos0,
    double? PipelineQos0OverInflux)
{
    public static BenchRatios From(BenchReport r)
    {
        var q1 = r.Median("pipeline-qos1");
        var q0 = r.Median("pipeline-qos0");
        var influx = r.Influx?.Ceiling ?? 0;
        double? Of(double a, double b) => a > 0 && b > 0 ? Math.Round(a / b, 4) : null;
        double? Paired(string a, string b) => r.Median(a) > 0 && r.Median(b) > 0 ? Math.Round(r.MedianRatio(a, b), 4) : null;
        return new BenchRatios(
            Paired("pipeline-qos1", "broker-qos1"),
            Of(q1, r.Find("broker-qos1-mosquitto_sub")?.Rate ?? 0),
            Of(q1, influx),
            Paired("pipeline-qos0", "broker-qos0"),
            Of(q0, influx));
    }
}

public sealed record MachineInfo(string Date, string Cpu, int Cores, long MemoryMb, string Kernel, string Dotnet, string Mosquitto, string InfluxDb, double LoadAverageAtStart);

/// <summary>Everything one run measured, printed as text and as JSON.</summary>
public sealed class BenchReport
{
    public required MachineInfo Machine { get; init; }

    public required string Command { get; init; }

    public required string PublisherDescription { get; init; }

    public List<ThroughputResult> Throughput { get; } = [];

    public InfluxCeilingResult? Influx { get; set; }

    public List<LatencyResult> Latency { get; } = [];

    public List<MemoryResult> Memory { get; } = [];

    public List<InfluxLatencyResult> InfluxLatency { get; } = [];

    /// <summary>The ratios the summary prints (medians over rounds); null where a side was not measured.</summary>
    public BenchRatios? Ratios { get; set; }

    /// <summary>What failed without ending the run (a diagnostic query, ...): reported, never silently dropped.</summary>
    public List<string> Failures { get; } = [];

    public string? Profile { get; set; }

    /// <summary>Every measurement window of the run with the other processes' load in it (percent of all cores).</summary>
    public IReadOnlyList<WindowLoad> WindowLoads =>
        Throughput.Select(t => new WindowLoad($"{t.Name} round {t.Round}", t.Cpu.OtherLoadPercent))
            .Concat((Influx?.Runs ?? []).Select(r => new WindowLoad($"influx-ceiling {r.Concurrency} writer(s)", r.Cpu.OtherLoadPercent)))
            .Concat(Latency.Select(l => new WindowLoad(l.Name, l.Cpu.OtherLoadPercent)))
            .Concat(InfluxLatency.Select(l => new WindowLoad(l.Name, l.Cpu.OtherLoadPercent)))
            .Concat(Memory.Where(m => m.Cpu is not null).Select(m => new WindowLoad(m.Name, m.Cpu!.OtherLoadPercent)))
            .ToList();

    /// <summary>False when any window had more than <see cref="OtherLoad.ClaimLimitPercent"/> % of the cores taken by other processes.</summary>
    public bool ForClaims => WindowLoads.All(w => OtherLoad.IsForClaims(w.OtherLoadPercent));

    /// <summary>One line for the report: the highest other load and the windows that are not for claims.</summary>
    public string LoadVerdict()
    {
        var loads = WindowLoads;
        if (loads.Count == 0)
        {
            return "other load: no measurement window";
        }

        var over = loads.Where(w => !OtherLoad.IsForClaims(w.OtherLoadPercent)).ToList();
        var max = loads.Max(w => w.OtherLoadPercent);
        return over.Count == 0
            ? $"other load: at most {max:F1}% of all cores in every window (limit {OtherLoad.ClaimLimitPercent:F0}%): for claims"
            : $"other load: up to {max:F1}% of all cores; NOT FOR CLAIMS (other processes above {OtherLoad.ClaimLimitPercent:F0}% of all cores in {string.Join(", ", over.Select(w => $"{w.Window} {w.OtherLoadPercent:F1}%"))})";
    }

    public ThroughputResult? Find(string name) => Throughput.FirstOrDefault(t => t.Name == name);

    /// <summary>Median rate of a measurement over the rounds (0 when it was not measured).</summary>
    public double Median(string name) => MedianOf(Throughput.Where(t => t.Name == name).Select(t => t.Rate));

    /// <summary>Median over rounds of the ratio a/b measured in the same round (paired, so slow rounds cancel out).</summary>
    public double MedianRatio(string a, string b) => MedianOf(
        Throughput.Where(t => t.Name == a)
            .Join(Throughput.Where(t => t.Name == b), x => x.Round, y => y.Round, (x, y) => y.Rate > 0 ? x.Rate / y.Rate : 0));

    public static double MedianOf(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }

    public static string Ratio(double a, double b) => b > 0 ? $"{a / b:P0}" : "n/a";
}

/// <summary>The other processes' load (percent of all cores) in one measurement window.</summary>
public sealed record WindowLoad(string Window, double OtherLoadPercent);

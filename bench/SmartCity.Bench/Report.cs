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
    IReadOnlyDictionary<string, double>? Runtime);

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
    long StreetLightDevicesStored,
    long PeakRssKb,
    long RssAfterKb,
    long IdleRssKb,
    long RssAnonAfterKb,
    long RssFileAfterKb,
    double CpuPercent,
    IReadOnlyDictionary<string, long> RejectedByReason,
    string Command,
    string Settings,
    IReadOnlyDictionary<string, double>? Runtime);

public sealed record InfluxRun(int Concurrency, double Seconds, double PointsPerSecond, long Stored, CpuReport Cpu);

public sealed record InfluxCeilingResult(long Points, int BatchSize, IReadOnlyList<InfluxRun> Runs)
{
    public double Ceiling => Runs.Count == 0 ? 0 : Runs.Max(r => r.PointsPerSecond);
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

    public string? Profile { get; set; }

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

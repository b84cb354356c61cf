using System.Globalization;

namespace SmartCity.Bench;

/// <summary>
/// Issue 25's targets, each judged from figures of the same run (never from absolute times, which move from
/// day to day on this machine), and the bound the machine itself puts on the pipeline: the rate two cores
/// would allow if the worker cost nothing, from what the publisher and mosquitto cost per message in the
/// mosquitto_sub run and what influxd costs per point at its ceiling. The pipeline has to carry all three
/// on the same cores, so a max-rate target above that bound cannot be met by the worker alone.
/// </summary>
public static class BenchTargets
{
    public const double MaxRateShareOfMosquittoSub = 0.70;
    public const double PacedCpuOverMaxRateCpu = 1.2;
    public const double MaxRatePeakRssMb = 120;
    public const double HundredThousandDevicesPeakRssMb = 200;
    public const double P99MsAt4000 = 250;

    /// <summary>A verdict: met, not met, or not measured in this run, with the figures behind it.</summary>
    public sealed record Verdict(string Target, bool? Met, string Figures)
    {
        public override string ToString() => $"  [{(Met is null ? "NOT MEASURED" : Met.Value ? "MET" : "NOT MET")}] {Target}: {Figures}";
    }

    /// <summary>
    /// The messages per second the machine allows with a worker that costs nothing: cores / (publisher +
    /// mosquitto CPU per message in the mosquitto_sub run + influxd CPU per point at its best ceiling run).
    /// Null when either run is missing.
    /// </summary>
    public static FreeWorkerBound? FreeWorker(BenchReport r)
    {
        var sub = r.Find("broker-qos1-mosquitto_sub");
        var influx = r.Influx?.Runs.Where(x => x.Stored > 0).MaxBy(x => x.PointsPerSecond);
        if (sub is null || sub.Counted <= 0 || influx is null || influx.PointsPerSecond <= 0)
        {
            return null;
        }

        double PerMessage(string process) => sub.Cpu.ProcessPercent.GetValueOrDefault(process) / 100 * sub.Cpu.Seconds * 1e6 / sub.Counted;
        var brokerUs = PerMessage("publisher") + PerMessage("mosquitto");
        var influxUs = influx.Cpu.ProcessPercent.GetValueOrDefault("influxd") / 100 * 1e6 / influx.PointsPerSecond;
        var total = brokerUs + influxUs;
        return total <= 0 ? null : new FreeWorkerBound(brokerUs, influxUs, r.Machine.Cores * 1e6 / total, sub.Rate);
    }

    public static IReadOnlyList<Verdict> Judge(BenchReport r)
    {
        var verdicts = new List<Verdict> { MaxRate(r), PacedCpu(r), MaxRateRss(r), DevicesRss(r), Latency(r) };
        return verdicts;
    }

    private static Verdict MaxRate(BenchReport r)
    {
        const string target = "QoS 1 max rate, 0 lost, >= 70 % of the mosquitto_sub ceiling of the same run";
        var q1 = r.Median("pipeline-qos1");
        var sub = r.Find("broker-qos1-mosquitto_sub");
        if (q1 <= 0 || sub is null || sub.Rate <= 0)
        {
            return new(target, null, "pipeline-qos1 or broker-qos1-mosquitto_sub not run");
        }

        var lost = r.Throughput.Where(t => t.Name == "pipeline-qos1").Sum(t => t.Lost);
        var share = q1 / sub.Rate;
        var figures = $"{N(q1)} of {N(sub.Rate)} msg/s = {share:P0}, lost {N(lost)}";
        if (FreeWorker(r) is { } bound)
        {
            figures += $"; a worker costing nothing: at most {N(bound.Rate)} msg/s = {bound.ShareOfMosquittoSub:P0} of mosquitto_sub"
                + $" (publisher + mosquitto {bound.BrokerMicroseconds:F0} us/msg, influxd {bound.InfluxMicroseconds:F0} us/point on the same {r.Machine.Cores} cores);"
                + $" the pipeline reaches {q1 / bound.Rate:P0} of that bound";
        }

        return new(target, lost == 0 && share >= MaxRateShareOfMosquittoSub, figures);
    }

    private static Verdict PacedCpu(BenchReport r)
    {
        const string target = "worker CPU per message paced at 2,000 msg/s <= 1.2x that at max rate";
        var max = r.Find("pipeline-qos1")?.Worker;
        var paced = r.Latency.FirstOrDefault(l => Math.Abs(l.TargetRate - 2000) <= 200 && !IsVariant(l.Name));
        if (max is null || max.CpuMicrosecondsPerMessage <= 0 || paced is null)
        {
            return new(target, null, "pipeline-qos1 or latency at 2,000 msg/s not run");
        }

        var ratio = paced.Worker.CpuMicrosecondsPerMessage / max.CpuMicrosecondsPerMessage;
        var figures = $"{paced.Worker.CpuMicrosecondsPerMessage:F0} / {max.CpuMicrosecondsPerMessage:F0} us = {ratio:F2}x";
        if (paced.Worker.JitMsInWindow is { } pacedJit && max.JitMsInWindow is { } maxJit)
        {
            // A window still compiling measures start-up, not the steady cost: say how much of each was the JIT.
            figures += $" (the JIT took {JitShare(paced.Worker, pacedJit, paced.Cpu.Seconds):F1} % / {JitShare(max, maxJit, r.Find("pipeline-qos1")!.Cpu.Seconds):F1} % of the worker's CPU in those windows)";
        }

        return new(target, ratio <= PacedCpuOverMaxRateCpu, figures);
    }

    /// <summary>The JIT's milliseconds in a window as a percentage of the worker's CPU there.</summary>
    public static double JitShare(WorkerFigures w, double jitMs, double seconds)
    {
        var workerMs = w.CpuPercent / 100 * seconds * 1000;
        return workerMs > 0 ? jitMs / workerMs * 100 : 0;
    }

    private static Verdict MaxRateRss(BenchReport r)
    {
        const string target = "worker peak RSS <= 120 MB in the max-rate run";
        var runs = r.Throughput.Where(t => t.Name == "pipeline-qos1" && t.Worker is not null).ToList();
        if (runs.Count == 0)
        {
            return new(target, null, "pipeline-qos1 not run");
        }

        var peak = runs.Max(t => t.Worker!.PeakRssKb) / 1024.0;
        return new(target, peak <= MaxRatePeakRssMb, $"{peak:F0} MB (idle after start {runs.Max(t => t.Worker!.IdleRssKb) / 1024.0:F0} MB)");
    }

    private static Verdict DevicesRss(BenchReport r)
    {
        const string target = "worker peak RSS <= 200 MB with 100,000 devices at the simulator's full speed, 0 lost";
        if (r.Memory.FirstOrDefault(m => !IsVariant(m.Name) && m.Devices >= 100_000) is not { } mem)
        {
            return new(target, null, "memory phase not run");
        }

        var peak = mem.PeakRssKb / 1024.0;
        return new(target, peak <= HundredThousandDevicesPeakRssMb, $"{peak:F0} MB, received {N(mem.Received)}, stored {N(mem.PointsWritten)} points + {N(mem.DeadLetters)} dead letters");
    }

    private static Verdict Latency(BenchReport r)
    {
        const string target = "p99 device ts -> stored <= 250 ms paced at 4,000 msg/s, every point measured";
        var at4k = r.Latency.FirstOrDefault(l => Math.Abs(l.TargetRate - 4000) <= 400 && !IsVariant(l.Name));
        if (at4k is null)
        {
            return new(target, null, "latency at 4,000 msg/s not run");
        }

        var complete = at4k.Measured >= at4k.Messages;
        return new(target, complete ? at4k.P99Ms <= P99MsAt4000 : null, $"p99 {at4k.P99Ms:F0} ms over {N(at4k.Measured)} of {N(at4k.Messages)} points, published at {N(at4k.PublishedRate)} msg/s");
    }

    private static bool IsVariant(string name) => name.Contains('[', StringComparison.Ordinal);

    private static string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
}

/// <summary>The pipeline's machine bound: <see cref="Rate"/> msg/s if the worker cost no CPU.</summary>
public sealed record FreeWorkerBound(double BrokerMicroseconds, double InfluxMicroseconds, double Rate, double MosquittoSubRate)
{
    public double ShareOfMosquittoSub => MosquittoSubRate > 0 ? Rate / MosquittoSubRate : 0;
}

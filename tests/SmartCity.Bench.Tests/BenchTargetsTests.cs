using SmartCity.Bench;
using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Tests;

/// <summary>
/// Issue 25's verdicts from one run's figures. The figures are those of the lead's quiet run of
/// 2026-12-07 15:21 UTC (mosquitto_sub 32,723 msg/s with publisher 86 % and mosquitto 75 % over 4.58 s;
/// InfluxDB ceiling 32,186 points/s with influxd at 131 %; pipeline 9,089 msg/s).
/// </summary>
public sealed class BenchTargetsTests
{
    [Fact]
    public void FreeWorker_MosquittoSubAndInfluxRuns_CoresOverWhatBrokerAndDatabaseCostPerMessage()
    {
        var report = QuietRun();

        var bound = BenchTargets.FreeWorker(report)!;

        // publisher 0.86 * 4.58 s / 150,000 = 26.3 us, mosquitto 22.9 us; influxd 1.31 s / 32,186 points = 40.7 us.
        Assert.Equal(49.2, bound.BrokerMicroseconds, 1);
        Assert.Equal(40.7, bound.InfluxMicroseconds, 1);
        Assert.Equal(22_257, bound.Rate, 0);
        Assert.Equal(0.68, bound.ShareOfMosquittoSub, 2);
    }

    [Fact]
    public void Judge_PipelineAt28PercentOfMosquittoSub_MaxRateNotMetAndTheBoundReported()
    {
        var verdict = BenchTargets.Judge(QuietRun())[0];

        Assert.False(verdict.Met);
        Assert.Contains("9,089 of 32,723 msg/s = 28 %", verdict.ToString(), StringComparison.Ordinal);
        Assert.Contains("a worker costing nothing: at most 22,257 msg/s = 68 % of mosquitto_sub", verdict.ToString(), StringComparison.Ordinal);
        Assert.Contains("the pipeline reaches 41 % of that bound", verdict.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_PacedCpuWithinOrAbove1Point2TimesTheMaxRateCpu_MetOrNotMet()
    {
        var within = QuietRun();
        within.Latency.Add(Paced(2000, workerUs: 77, p99: 100, measured: 30_000));
        var above = QuietRun();
        above.Latency.Add(Paced(2000, workerUs: 85, p99: 100, measured: 30_000));

        Assert.True(BenchTargets.Judge(within)[1].Met);
        Assert.False(BenchTargets.Judge(above)[1].Met);
        Assert.Contains("1.21x", BenchTargets.Judge(above)[1].Figures, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_PacedAndMaxRateWindowsWithTheirJitTime_ReportsEachAsAShareOfTheWorkersCpu()
    {
        var report = QuietRun();
        var max = report.Find("pipeline-qos1")!;
        report.Throughput[report.Throughput.IndexOf(max)] = max with { Worker = max.Worker! with { JitMsInWindow = 105.6 } };
        var paced = Paced(2000, workerUs: 77, p99: 100, measured: 30_000);
        report.Latency.Add(paced with { Worker = paced.Worker with { JitMsInWindow = 300 } });

        var figures = BenchTargets.Judge(report)[1].Figures;

        // Worker CPU in the windows: 64 % of 16.5 s = 10,560 ms at max rate, 64 % of 15 s = 9,600 ms paced.
        Assert.Contains("the JIT took 3.1 % / 1.0 % of the worker's CPU in those windows", figures, StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_LatencyAt4000WithAPointNotMeasured_NotMeasuredRatherThanMet()
    {
        var complete = QuietRun();
        complete.Latency.Add(Paced(4000, workerUs: 70, p99: 182, measured: 60_000));
        var incomplete = QuietRun();
        incomplete.Latency.Add(Paced(4000, workerUs: 70, p99: 182, measured: 59_999));

        Assert.True(BenchTargets.Judge(complete)[4].Met);
        Assert.Null(BenchTargets.Judge(incomplete)[4].Met);
        Assert.StartsWith("  [NOT MEASURED]", BenchTargets.Judge(incomplete)[4].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Judge_NoRunsAtAll_EveryTargetNotMeasured()
    {
        var empty = new BenchReport { Machine = Machine(), Command = "c", PublisherDescription = "p" };

        Assert.All(BenchTargets.Judge(empty), v => Assert.Null(v.Met));
        Assert.Null(BenchTargets.FreeWorker(empty));
    }

    [Fact]
    public void Judge_PeakRssOfTheMaxRateRun_AgainstThe120MbBound()
    {
        var report = QuietRun();

        var verdict = BenchTargets.Judge(report)[2];

        Assert.False(verdict.Met);
        Assert.Equal("197 MB (idle after start 135 MB)", verdict.Figures);
    }

    private static BenchReport QuietRun()
    {
        var report = new BenchReport { Machine = Machine(), Command = "c", PublisherDescription = "p" };
        report.Throughput.Add(new ThroughputResult("broker-qos1-mosquitto_sub", 1, 1, 150_000, 150_000, 4.58, 32_723, 0, 32_715, 0,
            Cpu(4.58, ("publisher", 86), ("mosquitto", 75), ("subscriber", 30)), null, ""));
        report.Throughput.Add(new ThroughputResult("pipeline-qos1", 1, 1, 150_000, 150_000, 16.5, 9_089, 8_627, 9_671, 0,
            Cpu(16.5, ("worker", 64), ("influxd", 50), ("publisher", 45), ("mosquitto", 26)), Worker(70.1, 197 * 1024, 135 * 1024), ""));
        report.Influx = new InfluxCeilingResult(150_000, 5000, [new InfluxRun(1, 4.66, 32_186, 150_000, Cpu(4.66, ("influxd", 131)))]);
        return report;
    }

    private static LatencyResult Paced(double rate, double workerUs, double p99, long measured) =>
        new($"latency-{rate:F0}", rate, rate, 60_000, measured, 90, 120, p99, p99, p99, 1, Cpu(15, ("worker", 20)), Worker(workerUs, 150 * 1024, 135 * 1024));

    private static WorkerFigures Worker(double usPerMessage, long peakKb, long idleKb) =>
        new(1, 64, usPerMessage, peakKb, idleKb, 0, [], "defaults", null);

    private static CpuReport Cpu(double seconds, params (string Process, double Percent)[] processes) =>
        new(seconds, processes.ToDictionary(p => p.Process, p => p.Percent), processes.Sum(p => p.Percent), 0, 200, 1);

    private static MachineInfo Machine() => new("2026-12-07", "AMD EPYC", 2, 24_105, "k", "10.0.12", "mosquitto 2.0.11", "1.6.7", 0.3);
}

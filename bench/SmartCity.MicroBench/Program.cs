using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;

namespace SmartCity.MicroBench;

/// <summary>
/// Micro-benchmarks of the worker's per-message work (BenchmarkDotNet): time and bytes allocated
/// per message. Run through <c>bench/run.sh --micro [filter]</c>; not part of the tests.
/// </summary>
public static class Program
{
    public static void Main(string[] args)
    {
        // One process, 3 warm-up and 15 measured iterations per benchmark: about 20 s each on 2 cores.
        // BenchmarkDotNet builds its own copy of the projects first; its default limit (2 min) is too
        // short on the shared 2-core machine while other builds and benchmarks run.
        var config = DefaultConfig.Instance
            .AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(3).WithIterationCount(15).AsDefault())
            .WithOptions(ConfigOptions.JoinSummary)
            .WithBuildTimeout(TimeSpan.FromMinutes(10));
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}

using System.Text.Json;
using Xunit.Abstractions;

namespace SmartCity.Bench.Tests;

/// <summary>
/// The e2e benchmark's "partitions" phase (not among the default phases, so not in the all-phases
/// smoke test): 1, 2 and 3 workers started with a partition map, tiny counts, on the suite's servers.
/// Checks that each worker count is measured with every message counted, not how fast.
/// </summary>
public sealed class PartitionsPhaseSmokeTests(ITestOutputHelper log)
{
    private const int Messages = 1200;

    [Fact]
    public async Task E2eBenchmark_PartitionsPhase_MeasuresOneTwoAndThreeWorkersWithNothingLost()
    {
        Assert.False(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("SMARTCITY_TEST_MQTT_HOST")), "run the tests with scripts/test.sh, which starts the servers");
        var work = Directory.CreateTempSubdirectory("smartcity-bench-partitions-").FullName;
        var json = Path.Combine(work, "e2e.json");
        string[] args =
        [
            E2eBenchmarkSmokeTests.BenchDll(), "e2e", "--existing-servers", "--phases", "partitions",
            "--messages", $"{Messages}", "--warmup", "300", "--rounds", "1", "--lamps", "120", "--districts", "12", "--quiet-wait", "0",
            "--work-dir", work, "--json", json,
        ];
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var (exitCode, output) = await E2eBenchmarkSmokeTests.RunAsync(dotnet, args, TimeSpan.FromMinutes(4));
        log.WriteLine(output);
        var context = $"bench output (logs in {work}/logs):\n{E2eBenchmarkSmokeTests.Tail(output, 60)}";

        Assert.True(exitCode == 0, $"the benchmark exited with {exitCode}\n{context}");
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var throughput = report.RootElement.GetProperty("Throughput").EnumerateArray().ToDictionary(t => t.GetProperty("Name").GetString()!, StringComparer.Ordinal);
        foreach (var workers in new[] { 1, 2, 3 })
        {
            Assert.True(throughput.TryGetValue($"pipeline-qos1-partitioned-x{workers}", out var t), $"{workers} worker(s) not measured\n{context}");
            Assert.Equal(workers, t.GetProperty("Worker").GetProperty("Instances").GetInt32());
            Assert.Equal(Messages, t.GetProperty("Counted").GetInt64());
            Assert.Equal(0, t.GetProperty("Lost").GetInt64());
        }

        Assert.Contains("PARTITIONED by district, 3 worker(s)", output, StringComparison.Ordinal);
        Directory.Delete(work, recursive: true);
    }
}

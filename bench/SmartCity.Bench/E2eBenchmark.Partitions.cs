using System.Globalization;
using System.Text.Json;

namespace SmartCity.Bench;

/// <summary>
/// The "partitions" phase (docs/scaling.md): the same measured load through 1, 2 and 3 workers, each
/// started with the partition map and its identity, the fleet's districts dealt round-robin over the
/// workers. Not in the default phases (three more pipeline runs): <c>--phases partitions</c>.
/// </summary>
public sealed partial class E2eBenchmark
{
    private const string PartitionsPhase = "partitions";

    private async Task PartitionedPhasesAsync()
    {
        if (!_s.Phases.Contains(PartitionsPhase))
        {
            return;
        }

        foreach (var workers in new[] { 1, 2, 3 })
        {
            _report.Throughput.Add(await PipelineAsync($"pipeline-qos1-partitioned-x{workers}", 1, workers, shared: false, profile: false, partitioned: true));
        }
    }

    /// <summary>A map of one city (this phase's own topic root and database) cut by district into <paramref name="workers"/> partitions.</summary>
    private string WritePartitionMap(string db, int workers)
    {
        _topicRoot = "p" + Tag();
        var districts = Enumerable.Range(1, _s.Districts).Select(d => $"d{d:00}").ToArray();
        var map = new
        {
            cities = new[] { new { id = "bench", topicRoot = _topicRoot, bucket = db, districts } },
            partitions = Enumerable.Range(0, workers).Select(i => new
            {
                id = $"part-{i}",
                city = "bench",
                filters = districts.Where((_, d) => d % workers == i).Select(d => $"{_topicRoot}/+/{d}/#").ToArray(),
                worker = PartitionWorker(i),
            }).ToArray(),
        };
        var path = Path.Combine(_env.WorkDirectory, $"partitions-{_topicRoot}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(map));
        if (_s.Districts % workers != 0)
        {
            Console.WriteLine($"note: {_s.Districts} districts over {workers} workers are not even (use --districts 12 for 1, 2 and 3 workers)");
        }

        return path;
    }

    private string PartitionWorker(int i) => $"bench-{_topicRoot}-w{i}";

    private Dictionary<string, string> PartitionWorkerSettings(IReadOnlyDictionary<string, string> settings, string map, int i) => new(settings)
    {
        ["SMARTCITY_Partitions__Map"] = map,
        ["SMARTCITY_Partitions__Worker"] = PartitionWorker(i),
        ["SMARTCITY_Partitions__DataDirectory"] = _env.WorkDirectory,
    };

    private static void WritePartitionedSummary(StringWriter w, BenchReport r)
    {
        var one = r.Median("pipeline-qos1-partitioned-x1");
        foreach (var t in r.Throughput.Where(t => t.Name.Contains("partitioned", StringComparison.Ordinal)))
        {
            w.WriteLine(string.Create(CultureInfo.InvariantCulture, $"PARTITIONED by district, {t.Worker?.Instances} worker(s): {t.Rate:N0} msg/s = {BenchReport.Ratio(t.Rate, one)} of one partitioned worker; lost {t.Lost:N0}"));
        }
    }
}

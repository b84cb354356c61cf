using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace SmartCity.Bench.Tests;

/// <summary>
/// The real end-to-end benchmark (bench/SmartCity.Bench <c>e2e</c>), every phase, with tiny counts,
/// against the servers the test suite started (SMARTCITY_TEST_*). Not a timed test: it checks that
/// the machinery measures - every measurement present with positive rates, nothing lost, the ratios
/// computed, every latency point measured with ordered percentiles, a memory peak - and fails when a
/// phase is skipped, loses points, or the run crashes. The figures themselves come from bench/run.sh.
/// </summary>
public sealed class E2eBenchmarkSmokeTests(ITestOutputHelper log)
{
    private const int Messages = 3000;
    private const int LatencySeconds = 3;
    private const double LatencyRate = 1000;
    private const string AllPhases = "broker,influx,pipeline,latency,influx-latency,shared,memory";

    // A fleet of 252 devices for the memory phase: the 100,000-device scenario's shape, CI's size.
    private const string SmallScenario = """
        {
          "name": "bench-smoke",
          "description": "the load-100k scenario's device mix, small: the bench smoke test's memory phase",
          "seed": 1,
          "city": { "name": "Utrecht", "latitude": 52.0907, "longitude": 5.1214, "timeZone": "Europe/Amsterdam" },
          "districts": 2,
          "devices": { "streetlight": 200, "lighting_cabinet": 4, "classroom_env": 20, "door_contact": 10, "motion_detector": 10, "camera": 4, "alarm_panel": 2, "panic_button": 2 },
          "time": { "start": "auto", "duration": "01:00:00", "acceleration": 1 },
          "intervals": { "camera": "00:05:00" }
        }
        """;

    // Below the suite's 5-minute hang timeout: a stuck phase fails here, with the bench's output.
    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task E2eBenchmark_AllPhasesTinyCountsOnTheSuitesServers_ReportsEveryMeasurementWithNothingLost()
    {
        foreach (var name in new[] { "SMARTCITY_TEST_MQTT_HOST", "SMARTCITY_TEST_MQTT_PORT", "SMARTCITY_TEST_INFLUX_URL" })
        {
            Assert.False(string.IsNullOrEmpty(Environment.GetEnvironmentVariable(name)), $"{name} is not set: run the tests with scripts/test.sh, which starts the servers");
        }

        var work = Directory.CreateTempSubdirectory("smartcity-bench-smoke-").FullName;
        var scenario = Path.Combine(work, "bench-smoke.json");
        await File.WriteAllTextAsync(scenario, SmallScenario);
        var json = Path.Combine(work, "e2e.json");
        string[] args =
        [
            BenchDll(), "e2e", "--existing-servers", "--phases", AllPhases,
            "--messages", $"{Messages}", "--warmup", "500", "--rounds", "1", "--lamps", "200", "--quiet-wait", "0",
            "--latency-seconds", $"{LatencySeconds}", "--latency-rates", $"{LatencyRate}", "--latency-warmup-seconds", "2", "--warmup-runs", "2", "--shared-workers", "2",
            "--scenario", scenario, "--memory-messages", "2000", "--memory-seconds", "30",
            "--work-dir", work, "--json", json,
        ];
        // The dotnet that runs the tests (set by dotnet test), else the one on PATH.
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host) ? host : "dotnet";
        var (exitCode, output) = await RunAsync(dotnet, args, RunTimeout);
        log.WriteLine(output); // the whole run, phase by phase, in the test results
        var context = $"bench output (logs in {work}/logs):\n{Tail(output, 80)}";

        Assert.True(exitCode == 0, $"the benchmark exited with {exitCode}\n{context}");
        Assert.True(File.Exists(json), $"no JSON report at {json}\n{context}");
        using var report = JsonDocument.Parse(await File.ReadAllTextAsync(json));
        var problems = Check(report.RootElement, output);
        Assert.True(problems.Count == 0, $"the benchmark's report is incomplete:\n  {string.Join("\n  ", problems)}\n{context}");
        Directory.Delete(work, recursive: true);
    }

    /// <summary>Every problem of the report at once, so one failing run says all that is wrong.</summary>
    private static List<string> Check(JsonElement r, string output)
    {
        var problems = new List<string>();
        void Require(bool ok, string problem)
        {
            if (!ok)
            {
                problems.Add(problem);
            }
        }

        // (1) and (3): broker ceilings (MQTTnet and mosquitto_sub subscribers), pipeline QoS 1/0, shared.
        var throughput = r.GetProperty("Throughput").EnumerateArray().ToDictionary(t => t.GetProperty("Name").GetString()!, StringComparer.Ordinal);
        foreach (var name in new[] { "broker-qos1", "broker-qos0", "broker-qos1-mosquitto_sub", "pipeline-qos1", "pipeline-qos0", "pipeline-qos1-shared-x2" })
        {
            if (!throughput.TryGetValue(name, out var t))
            {
                problems.Add($"{name}: not measured (phase skipped)");
                continue;
            }

            Require(t.GetProperty("Rate").GetDouble() > 0, $"{name}: rate {t.GetProperty("Rate")} msg/s");
            Require(t.GetProperty("Lost").GetInt64() == 0, $"{name}: lost {t.GetProperty("Lost")}");
            Require(t.GetProperty("Counted").GetInt64() == Messages, $"{name}: counted {t.GetProperty("Counted")} of {Messages}");
            Require(t.GetProperty("Published").GetInt64() == Messages, $"{name}: published {t.GetProperty("Published")} of {Messages}");
            if (name.StartsWith("pipeline", StringComparison.Ordinal))
            {
                var worker = t.GetProperty("Worker");
                Require(worker.ValueKind == JsonValueKind.Object && worker.GetProperty("PeakRssKb").GetInt64() > 0, $"{name}: no worker peak RSS");
                Require(worker.ValueKind == JsonValueKind.Object && worker.GetProperty("CpuPercent").GetDouble() > 0, $"{name}: no worker CPU");
            }
        }

        // (2) InfluxDB's ceiling: both writer counts, every point stored.
        var influx = r.GetProperty("Influx");
        if (influx.ValueKind != JsonValueKind.Object)
        {
            problems.Add("influx: InfluxDB ceiling not measured (phase skipped)");
        }
        else
        {
            var runs = influx.GetProperty("Runs").EnumerateArray().ToList();
            Require(runs.Count == 2, $"influx: {runs.Count} runs, not 2 (1 and 2 writers)");
            foreach (var run in runs)
            {
                Require(run.GetProperty("PointsPerSecond").GetDouble() > 0, $"influx: {run.GetProperty("Concurrency")} writer(s): {run.GetProperty("PointsPerSecond")} points/s");
                Require(run.GetProperty("Stored").GetInt64() == influx.GetProperty("Points").GetInt64(), $"influx: {run.GetProperty("Concurrency")} writer(s): stored {run.GetProperty("Stored")} of {influx.GetProperty("Points")}");
            }
        }

        // The ratios pipeline / ceilings, in the JSON and printed.
        var ratios = r.GetProperty("Ratios");
        foreach (var ratio in new[] { "PipelineQos1OverBrokerQos1", "PipelineQos1OverMosquittoSub", "PipelineQos1OverInflux", "PipelineQos0OverBrokerQos0", "PipelineQos0OverInflux" })
        {
            var value = ratios.ValueKind == JsonValueKind.Object ? ratios.GetProperty(ratio) : default;
            Require(value.ValueKind == JsonValueKind.Number && value.GetDouble() > 0 && double.IsFinite(value.GetDouble()), $"ratio {ratio} not computed ({(value.ValueKind == JsonValueKind.Undefined ? "missing" : value.ToString())})");
        }

        foreach (var line in new[] { "RATIO pipeline QoS 1 / broker QoS 1 ceiling", "RATIO pipeline QoS 1 / InfluxDB ceiling", "RATIO pipeline QoS 0 / broker QoS 0 ceiling", "RATIO pipeline QoS 0 / InfluxDB ceiling", "LATENCY by rate", "INFLUX-LATENCY at" })
        {
            Require(output.Contains(line, StringComparison.Ordinal), $"summary: no '{line}' line");
        }

        // (4) latency at the given rate: every point measured, percentiles ordered, the publisher's CPU tracked.
        var latency = r.GetProperty("Latency").EnumerateArray().ToList();
        Require(latency.Count == 1, $"latency: {latency.Count} runs, not 1 (--latency-rates {LatencyRate})");
        foreach (var l in latency)
        {
            var name = l.GetProperty("Name").GetString();
            var messages = l.GetProperty("Messages").GetInt64();
            Require(messages == (long)(LatencyRate * LatencySeconds), $"{name}: {messages} messages, not {LatencyRate * LatencySeconds}");
            Require(l.GetProperty("Measured").GetInt64() == messages, $"{name}: {l.GetProperty("Measured")} of {messages} points measured");
            RequireOrdered(name, l.GetProperty("P50Ms").GetDouble(), l.GetProperty("P99Ms").GetDouble(), l.GetProperty("MaxMs").GetDouble());
            Require(l.GetProperty("PublishedRate").GetDouble() > 0, $"{name}: published rate {l.GetProperty("PublishedRate")}");
            Require(l.GetProperty("Cpu").GetProperty("ProcessPercent").TryGetProperty("publisher", out _), $"{name}: the publisher's CPU is not tracked");
            Require(l.GetProperty("Worker").GetProperty("PeakRssKb").GetInt64() > 0, $"{name}: no worker peak RSS");
        }

        // (4b) InfluxDB's own write latency at that rate.
        var influxLatency = r.GetProperty("InfluxLatency").EnumerateArray().ToList();
        Require(influxLatency.Count == 1, $"influx-latency: {influxLatency.Count} runs, not 1");
        foreach (var il in influxLatency)
        {
            var name = il.GetProperty("Name").GetString();
            Require(il.GetProperty("Points").GetInt64() == (long)(LatencyRate * LatencySeconds), $"{name}: {il.GetProperty("Points")} points posted");
            Require(il.GetProperty("Stored").GetInt64() == il.GetProperty("Points").GetInt64(), $"{name}: stored {il.GetProperty("Stored")} of {il.GetProperty("Points")}");
            Require(il.GetProperty("Batches").GetInt32() >= LatencySeconds * 5, $"{name}: {il.GetProperty("Batches")} batches for {LatencySeconds} s at one per 200 ms");
            RequireOrdered(name, il.GetProperty("P50Ms").GetDouble(), il.GetProperty("P99Ms").GetDouble(), il.GetProperty("MaxMs").GetDouble());
        }

        // (5) the worker's memory with the scenario's fleet.
        var memory = r.GetProperty("Memory").EnumerateArray().ToList();
        Require(memory.Count == 1, $"memory: {memory.Count} runs, not 1");
        foreach (var m in memory)
        {
            Require(m.GetProperty("Devices").GetInt32() == 252, $"memory: {m.GetProperty("Devices")} devices, not the scenario's 252");
            Require(m.GetProperty("PeakRssKb").GetInt64() > 0, "memory: no peak RSS");
            Require(m.GetProperty("Received").GetInt64() > 0 && m.GetProperty("Received").GetInt64() >= m.GetProperty("SimulatorPublished").GetInt64(),
                $"memory: worker received {m.GetProperty("Received")} of {m.GetProperty("SimulatorPublished")} published");
            Require(m.GetProperty("PointsWritten").GetInt64() > 0, "memory: nothing stored");
        }

        return problems;

        void RequireOrdered(string? name, double p50, double p99, double max) =>
            Require(p50 > 0 && p50 <= p99 && p99 <= max, $"{name}: percentiles not ordered or empty: p50 {p50} ms, p99 {p99} ms, max {max} ms");
    }

    /// <summary>The bench's own build output (bench/SmartCity.Bench/bin/CONFIGURATION/net10.0), as bench/run.sh runs it.</summary>
    internal static string BenchDll()
    {
        var directory = typeof(E2eBenchmarkSmokeTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "BenchDirectory").Value!;
        var dll = Path.Combine(directory, "SmartCity.Bench.dll");
        Assert.True(File.Exists(dll), $"{dll} not built (the test project builds it through its project reference)");
        return dll;
    }

    /// <summary>Runs a process to its end (killed with its children after <paramref name="timeout"/>); stdout and stderr together.</summary>
    internal static async Task<(int ExitCode, string Output)> RunAsync(string program, IEnumerable<string> args, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            Append($"(killed after {timeout.TotalSeconds:F0} s)");
            return (-1, Snapshot());
        }

        await process.WaitForExitAsync(); // the output's last lines
        return (process.ExitCode, Snapshot());

        void Append(string? line)
        {
            if (line is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        }

        string Snapshot()
        {
            lock (output)
            {
                return output.ToString();
            }
        }
    }

    internal static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));
}

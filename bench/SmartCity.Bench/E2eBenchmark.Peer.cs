using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench;

/// <summary>
/// The "peer-nodered" phase (<see cref="PeerNodeRed"/>): Node-RED in the pipeline's place, measured exactly
/// like pipeline-qos1 (same publisher, warm-up, messages, CPU window, stored count and lost count), right
/// after it in each round so the two are compared under the same conditions. Not in the default phases.
/// </summary>
public sealed partial class E2eBenchmark
{
    private async Task<ThroughputResult> PeerNodeRedAsync()
    {
        const string name = PeerNodeRed.Phase;
        Header(name, $"publisher -> mosquitto -> Node-RED {PeerNodeRed.Version} (mqtt in QoS 1 -> function -> join {PeerNodeRed.BatchLines:N0} lines or {PeerNodeRed.BatchSeconds * 1000:F0} ms -> http request) -> InfluxDB /write (QoS 1)");
        var install = PeerNodeRed.InstallDirectory();
        await PeerNodeRed.EnsureInstalledAsync(install, Log("npm-install-node-red.log"));
        var db = NewDatabase();
        await _influx.CreateDatabaseAsync(db);
        var userDir = Path.Combine(_env.WorkDirectory, "nodered-" + db);
        Directory.CreateDirectory(userDir);
        var port = WorkerProcess.FreePort();
        var (user, password) = BenchEnvironment.BrokerAccount();
        await File.WriteAllTextAsync(Path.Combine(userDir, "flows.json"), PeerNodeRed.Flow(new PeerNodeRed.FlowOptions(
            _env.MqttHost, _env.MqttPort, $"bench-nodered-{Tag()}", _topicRoot + "/#", $"{_env.InfluxUrl}/write?db={db}")));
        if (PeerNodeRed.Credentials(user, password) is { } credentials)
        {
            await File.WriteAllTextAsync(Path.Combine(userDir, "flows_cred.json"), credentials);
        }

        var settings = Path.Combine(userDir, "settings.js");
        await File.WriteAllTextAsync(settings, PeerNodeRed.Settings(userDir, port));
        var counters = new Uri($"http://127.0.0.1:{port}{PeerNodeRed.CountersPath}");
        await using var red = ChildProcess.Start("node", [PeerNodeRed.RedJs(install), "--userDir", userDir, "--settings", settings], Log($"{name}-round{_round}.log"), workingDirectory: userDir);
        try
        {
            await red.WaitForAsync("CONNECTED", TimeSpan.FromSeconds(120));
            var idleRss = ProcStats.RssKb(red.Pid) ?? 0;
            Task<WorkerCounters> Read() => NodeRedCountersAsync(counters);

            // As many warm-up runs as the worker's last pipeline phase took (V8 compiles in its own warm-up too),
            // on a timeline of the same shape: current readings, the measured ones right after. Its counters are
            // read at the measured window's cadence meanwhile, as the worker's are (CounterPoll): the window reads
            // them every 25 ms, and V8 would otherwise compile that request's path inside it.
            var timeline = Timeline(_maxRateWarmupRuns);
            long warmed = 0;
            for (var run = 0; run < _maxRateWarmupRuns; run++)
            {
                var births = run == 0;
                warmed += await CounterPoll.WhileAsync(Read, () => WarmupAsync(name, timeline, births));
            }

            var baseline = await WaitQuiescentAsync(Read, warmed, TimeSpan.FromMinutes(2));

            _tracked.Clear();
            _tracked["nodered"] = [red.Pid];
            var threadsBefore = ProcStats.Threads(red.Pid);
            var series = new List<(long Ms, WorkerCounters C)>();
            var stored = (Ms: 0L, Count: 0L);
            var (cpu, publisher) = await MeasuredPublishAsync(name, 1, async () =>
            {
                stored = await WaitStoredAsync(Read, baseline.PointsWritten + _s.Messages, () => _publisherDone, TimeSpan.FromMinutes(5), series);
            }, timeline);
            var threads = BusiestThreads([threadsBefore], [ProcStats.Threads(red.Pid)], cpu.Seconds);
            var peak = ProcStats.PeakRssKb(red.Pid) ?? 0;
            var final = await Read();
            var counted = await CountMeasuredAsync(db, timeline);
            var seconds = (stored.Ms - publisher.StartMs) / 1000.0;
            var redCpu = cpu.ProcessPercent.GetValueOrDefault("nodered");
            var figures = new WorkerFigures(1, redCpu, Math.Round(redCpu / 100 * cpu.Seconds * 1e6 / Math.Max(1, counted), 1), peak, idleRss, 0, threads,
                $"Node-RED {PeerNodeRed.Version} on Node.js {NodeVersion()}, flow written by the bench (bench/SmartCity.Bench/PeerNodeRed.cs)", null);
            if (counted == 0)
            {
                throw new InvalidOperationException($"nothing of the measured load was stored by Node-RED (flow counters: stored {final.PointsWritten:N0}, failed {final.WriteFailures:N0}; log {red.LogPath})");
            }

            var notes = $"InfluxQL count of the measured fleet {counted:N0}; Node-RED flow counters: lines written {final.PointsWritten:N0}, failed {final.WriteFailures:N0}; no spool, acks on receipt, no validation, no alerts";
            return Print(new ThroughputResult(name, _round, 1, publisher.Acknowledged, counted, Math.Round(seconds, 2), Math.Round(counted / seconds),
                SteadyRate(series, baseline.PointsWritten, _s.Messages), publisher.Rate, publisher.Acknowledged - counted, cpu, figures, notes));
        }
        finally
        {
            await red.StopAsync(TimeSpan.FromSeconds(15));
            await _influx.DropDatabaseAsync(db);
        }
    }

    /// <summary>The flow's counters in the worker's shape, so the pipeline's waits and steady rate apply unchanged: lines written are its points.</summary>
    private async Task<WorkerCounters> NodeRedCountersAsync(Uri counters)
    {
        var c = PeerNodeRed.ParseCounters(await _http.GetStringAsync(counters));
        return new WorkerCounters(c.Stored, c.Stored, 0, c.Stored, 0, c.Stored, c.Failed, 0, 0, 0, new Dictionary<string, long>(StringComparer.Ordinal));
    }

    private static string NodeVersion()
    {
        try
        {
            using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("node", ["--version"]) { RedirectStandardOutput = true, UseShellExecute = false })!;
            var v = p.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return v;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}

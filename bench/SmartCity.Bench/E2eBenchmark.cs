using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using SmartCity.Bench.Infrastructure;
using SmartCity.Bench.Latency;
using SmartCity.Bench.Load;
using SmartCity.Bench.Phases;

namespace SmartCity.Bench;

/// <summary>
/// The end-to-end benchmark: in one run, on the same servers and the same machine, the broker's
/// ceiling, InfluxDB's ceiling, the pipeline's sustained throughput (durable spool on, QoS 1 and
/// QoS 0, every point counted in InfluxDB), latency from device timestamp to stored at a paced
/// rate, the worker's CPU and peak memory, and the worker's memory under the 100,000-device
/// scenario. Speed is reported as a ratio against the ceilings measured in the same run.
/// </summary>
public sealed partial class E2eBenchmark
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    private readonly BenchEnvironment _env;
    private readonly HttpClient _http;
    private readonly Influx _influx;
    private readonly Settings _s;
    private readonly BenchReport _report;
    private readonly Dictionary<string, IReadOnlyList<int>> _tracked = new(StringComparer.Ordinal);
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private int _phase;

    private sealed record Settings(
        long Messages,
        long Warmup,
        int Lamps,
        int Districts,
        int Connections,
        int InFlight,
        int LatencySeconds,
        double LatencyRate,
        int SharedWorkers,
        int MemorySeconds,
        long MemoryMessages,
        string Scenario,
        HashSet<string> Phases,
        bool Profile,
        bool ProfileLatency,
        int LatencyWarmupSeconds,
        int WarmupRuns,
        string? JsonOut,
        int Rounds,
        int QuietWaitSeconds,
        IReadOnlyList<(string Name, IReadOnlyDictionary<string, string> Environment)> Variants,
        bool ExistingServers,
        IReadOnlyList<double> LatencyRates);

    private E2eBenchmark(BenchEnvironment env, HttpClient http, Settings settings, BenchReport report)
    {
        _env = env;
        _http = http;
        _influx = new Influx(http, env.InfluxUrl);
        _s = settings;
        _report = report;
        // On servers the test suite shares (--existing-servers), a topic root of this run's own:
        // its load never reaches another test's subscriber, and theirs never counts as ours.
        _rootBase = settings.ExistingServers ? "b" + Tag() : "city";
        _topicRoot = _rootBase;
    }

    private static string BenchDll => Path.Combine(AppContext.BaseDirectory, "SmartCity.Bench.dll");

    public static async Task<int> RunAsync(Args args, string commandLine)
    {
        var allPhases = new[] { "broker", "influx", "pipeline", "latency", "influx-latency", "shared", "memory" };
        var settings = new Settings(
            args.Long("--messages", 120_000),
            args.Long("--warmup", 80_000),
            args.Int("--lamps", 10_000),
            args.Int("--districts", 4),
            args.Int("--connections", 4),
            args.Int("--in-flight", 100),
            args.Int("--latency-seconds", 20),
            args.Double("--latency-rate", 5_000),
            args.Int("--shared-workers", 2),
            args.Int("--memory-seconds", 120),
            args.Long("--memory-messages", 300_000),
            args.String("--scenario", FindRepoFile("simulators/scenarios/load-100k.json")),
            [.. args.String("--phases", string.Join(',', allPhases)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            args.Flag("--profile"),
            args.Flag("--profile-latency"),
            args.Int("--latency-warmup-seconds", 30),
            args.Int("--warmup-runs", 4),
            args.OptionalString("--json"),
            args.Int("--rounds", 2),
            args.Int("--quiet-wait", 10),
            ParseVariants(args.String("--variants", "")),
            args.Flag("--existing-servers"),
            ParseRates(args.OptionalString("--latency-rates")));
        var work = args.OptionalString("--work-dir");
        args.EnsureAllRead();
        var unknown = settings.Phases.Except([.. allPhases, PartitionsPhase, PeerNodeRed.Phase]).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown phase(s) {string.Join(", ", unknown)}; phases are {string.Join(", ", allPhases)}, {PartitionsPhase}, {PeerNodeRed.Phase}");
        }

        var env = BenchEnvironment.FromEnvironment(work);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var report = new BenchReport
        {
            Machine = await DescribeMachineAsync(),
            Command = commandLine,
            PublisherDescription = $"SmartCity.Bench publish: simulator street-light fleet of {settings.Lamps:N0} lamps, simulator gateway transport, {settings.Connections} MQTT connections x {settings.InFlight} in flight",
        };
        var bench = new E2eBenchmark(env, http, settings, report);
        Console.WriteLine($"SmartCity e2e benchmark: {report.Machine.Cpu}, {report.Machine.Cores} cores, {report.Machine.MemoryMb:N0} MB, load {report.Machine.LoadAverageAtStart:F2}; work dir {env.WorkDirectory}");
        Console.WriteLine($"load: {report.PublisherDescription}; {settings.Messages:N0} measured + {settings.Warmup:N0} warm-up messages per phase");
        var clock = Stopwatch.StartNew();
        await bench.RunPhasesAsync();
        report.Ratios = BenchRatios.From(report);
        Console.WriteLine();
        Console.WriteLine(Summary(report));
        Console.WriteLine($"total benchmark time {clock.Elapsed.TotalSeconds:F0} s");
        var jsonPath = settings.JsonOut ?? Path.Combine(env.WorkDirectory, "e2e.json");
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(jsonPath))!);
        await File.WriteAllTextAsync(jsonPath, JsonSerializer.Serialize(report, Json));
        Console.WriteLine($"results: {jsonPath}");
        return report.Throughput.Any(t => t.Lost > 0 && t.Qos == 1) ? 1 : 0;
    }

    private async Task RunPhasesAsync()
    {
        // Ceilings and pipeline are interleaved round by round, so each ratio compares runs made
        // minutes apart under the same conditions; the summary takes the median over rounds.
        for (var round = 1; round <= _s.Rounds; round++)
        {
            _round = round;
            if (_s.Phases.Contains("broker"))
            {
                _report.Throughput.Add(await BrokerCeilingAsync(1));
            }

            if (_s.Phases.Contains("pipeline"))
            {
                _report.Throughput.Add(await PipelineAsync("pipeline-qos1", 1, workers: 1, shared: false, profile: _s.Profile && round == _s.Rounds));
            }

            if (_s.Phases.Contains(PeerNodeRed.Phase))
            {
                // Right after pipeline-qos1 of the same round: the ratio compares runs minutes apart.
                _report.Throughput.Add(await PeerNodeRedAsync());
            }

            if (_s.Phases.Contains("broker"))
            {
                _report.Throughput.Add(await BrokerCeilingAsync(0));
            }

            if (_s.Phases.Contains("pipeline"))
            {
                _report.Throughput.Add(await PipelineAsync("pipeline-qos0", 0, workers: 1, shared: false, profile: false));
            }

            if (_s.Phases.Contains("broker") && round == 1)
            {
                _report.Throughput.Add(await MosquittoSubCeilingAsync());
            }
        }

        _round = 1;
        if (_s.Phases.Contains("influx"))
        {
            _report.Influx = await InfluxCeilingAsync();
        }

        if (_s.Phases.Contains("latency") && _s.LatencyRates.Count > 0)
        {
            // --latency-rates: the same paced run at each rate, so the note can say up to which
            // rate p99 <= 500 ms holds on this machine.
            foreach (var rate in _s.LatencyRates)
            {
                _report.Latency.Add(await LatencyAsync(rate));
            }
        }
        else if (_s.Phases.Contains("latency"))
        {
            var sustained = _report.Median("pipeline-qos1");
            var half = Math.Round(sustained / 2 / 100) * 100;
            if (half > 0)
            {
                _report.Latency.Add(await LatencyAsync(half));
            }

            if (half <= 0 || Math.Abs(half - _s.LatencyRate) / _s.LatencyRate > 0.1)
            {
                _report.Latency.Add(await LatencyAsync(_s.LatencyRate));
            }
        }

        if (_s.Phases.Contains("influx-latency"))
        {
            foreach (var rate in _s.LatencyRates.Count > 0 ? _s.LatencyRates : [_s.LatencyRate])
            {
                _report.InfluxLatency.Add(await InfluxLatencyAsync(rate));
            }
        }

        if (_s.Phases.Contains("shared") && _s.SharedWorkers > 1)
        {
            _report.Throughput.Add(await PipelineAsync($"pipeline-qos1-shared-x{_s.SharedWorkers}", 1, _s.SharedWorkers, shared: true, profile: false));
        }

        await PartitionedPhasesAsync();

        if (_s.Phases.Contains("memory"))
        {
            _report.Memory.Add(await Memory100kAsync());
        }

        // Worker variants (--variants): the same worker, other runtime settings given as environment
        // variables, measured on the same load, to back a proposed change with figures.
        foreach (var (variantName, variant) in _s.Variants)
        {
            if (_s.Phases.Contains("pipeline"))
            {
                _report.Throughput.Add(await PipelineAsync($"pipeline-qos1{variantName}", 1, workers: 1, shared: false, profile: false, variant));
            }

            if (_s.Phases.Contains("latency"))
            {
                // The same rates as the main run (--latency-rates), so each variant's row has its counterpart.
                foreach (var rate in _s.LatencyRates.Count > 0 ? _s.LatencyRates : [_s.LatencyRate])
                {
                    _report.Latency.Add(await LatencyAsync(rate, variantName, variant));
                }
            }

            if (_s.Phases.Contains("memory"))
            {
                _report.Memory.Add(await Memory100kAsync(variantName, variant));
            }
        }
    }

    private int _round = 1;

    // ---------------------------------------------------------------------------------------
    // (1) the broker's ceiling: the same publisher to a subscriber that does nothing
    // ---------------------------------------------------------------------------------------
    private async Task<ThroughputResult> BrokerCeilingAsync(int qos)
    {
        var name = $"broker-qos{qos}";
        Header(name, $"publisher -> mosquitto -> MQTTnet subscriber that only counts (QoS {qos})");
        var clientId = $"bench-null-{Tag()}";
        await using var sub = ChildProcess.StartDotnet(BenchDll,
            ["null-sub", "--host", _env.MqttHost, "--port", Str(_env.MqttPort), "--client-id", clientId, "--warmup", Str(_s.Warmup), "--count", Str(_s.Messages), "--filter", _topicRoot + "/#"],
            Log($"null-sub-{name}.log"));
        await sub.WaitForAsync("READY", TimeSpan.FromSeconds(30));
        var timeline = Timeline(warmupRuns: 1);
        await WarmupAsync(name, timeline);
        await sub.WaitForAsync("WARM", TimeSpan.FromSeconds(60));

        _tracked.Clear();
        _tracked["subscriber"] = [sub.Pid];
        NullSubscriber.Result? result = null;
        var (cpu, publisher) = await MeasuredPublishAsync(name, qos, async () =>
        {
            result = JsonSerializer.Deserialize<NullSubscriber.Result>(await sub.WaitForAsync("RESULT", TimeSpan.FromMinutes(5)));
        }, timeline);
        if (result is null)
        {
            throw new InvalidOperationException("no result from the subscriber");
        }

        sub.Release();
        await sub.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var seconds = (result.LastMs - publisher.StartMs) / 1000.0;
        return Print(new ThroughputResult(name, _round, qos, publisher.Acknowledged, result.Received, Math.Round(seconds, 2),
            Math.Round(result.Received / seconds), Math.Round(result.Received / Math.Max(0.001, (result.LastMs - result.FirstMs) / 1000.0)),
            publisher.Rate, publisher.Acknowledged - result.Received, cpu, null, "MQTTnet subscriber, auto-ack, same session options as the worker"));
    }

    /// <summary>The same, with mosquitto's own C client as the subscriber: is the MQTTnet subscriber the limit?</summary>
    private async Task<ThroughputResult> MosquittoSubCeilingAsync()
    {
        const string name = "broker-qos1-mosquitto_sub";
        Header(name, "publisher -> mosquitto -> mosquitto_sub (C client) -> /dev/null (QoS 1)");
        var clientId = $"bench-msub-{Tag()}";
        // sh waits for mosquitto_sub, prints when it ended, and lingers until released: its /proc
        // entry then holds mosquitto_sub's CPU time (cutime/cstime of a waited-for child).
        // The harness password of a throwaway dev broker on a local command line: acceptable for a benchmark.
        var (user, password) = BenchEnvironment.BrokerAccount();
        var login = user is null ? "" : $"-u {user} -P {password} ";
        // First a persistent session with the subscription (-c: session expiry infinite with MQTT 5,
        // -E: exit at SUBACK), so no QoS 1 message published before the counting client connects is
        // lost: a fixed wait for "subscribed" is not enough on a loaded machine. -R: retained births
        // of earlier phases are not counted as load.
        var common = $"{login}-h {_env.MqttHost} -p {_env.MqttPort} -V mqttv5 -q 1 -i {clientId} -c -t '{_topicRoot}/#'";
        var script = $"mosquitto_sub {common} -E || exit 1; echo SUBSCRIBED; mosquitto_sub {common} -R -C {_s.Messages} >/dev/null; echo DONE $(date +%s%3N); read x";
        await using var sub = ChildProcess.Start("sh", ["-c", script], Log($"{name}.log"));
        await sub.WaitForAsync("SUBSCRIBED", TimeSpan.FromSeconds(30));
        _tracked.Clear();
        _tracked["subscriber"] = [sub.Pid];
        long endMs = 0;
        var (cpu, publisher) = await MeasuredPublishAsync(name, 1, async () =>
        {
            endMs = long.Parse(await sub.WaitForAsync("DONE", TimeSpan.FromMinutes(5)), CultureInfo.InvariantCulture);
        });
        await WorkerProcess.ClearSessionAsync(_env, clientId);
        var seconds = (endMs - publisher.StartMs) / 1000.0;
        return Print(new ThroughputResult(name, _round, 1, publisher.Acknowledged, _s.Messages, Math.Round(seconds, 2), Math.Round(_s.Messages / seconds), 0,
            publisher.Rate, 0, cpu, null, "mosquitto_sub -V mqttv5 -q 1 -C N, no warm-up (native code)"));
    }

    // ---------------------------------------------------------------------------------------
    // (2) InfluxDB's own write ceiling
    // ---------------------------------------------------------------------------------------
    private async Task<InfluxCeilingResult> InfluxCeilingAsync()
    {
        Header("influx", "batched line protocol posted directly (the worker's own lines and batch size)");
        var batchSize = int.Parse(Environment.GetEnvironmentVariable("SMARTCITY_Influx__BatchSize") ?? "5000", CultureInfo.InvariantCulture);
        var lines = InfluxCeiling.WorkerLines(_s.Lamps, _s.Districts, _s.Messages, DateTimeOffset.UtcNow.AddDays(-1));
        var runs = new List<InfluxRun>();
        foreach (var concurrency in new[] { 1, 2 })
        {
            var db = NewDatabase();
            await _influx.CreateDatabaseAsync(db);
            _tracked.Clear();
            _tracked["bench"] = [Environment.ProcessId];
            var window = Window();
            window.Start();
            var r = await InfluxCeiling.RunAsync(_http, _env.InfluxUrl, _env.InfluxToken, _env.InfluxOrg, db, lines, batchSize, concurrency);
            var cpu = window.Stop();
            var stored = await _influx.CountAsync(db, "street_light", "power_w");
            await _influx.DropDatabaseAsync(db);
            runs.Add(new InfluxRun(concurrency, r.Seconds, r.PointsPerSecond, stored, cpu));
            Console.WriteLine($"  {concurrency} writer(s): {r.Points:N0} points in {r.Seconds:F2} s = {r.PointsPerSecond:N0} points/s, stored {stored:N0}; cpu: {cpu.Describe()}");
        }

        return new InfluxCeilingResult(lines.Count, batchSize, runs);
    }

    // ---------------------------------------------------------------------------------------
    // (3) the pipeline: publisher -> mosquitto -> worker(s) -> spool -> InfluxDB
    // ---------------------------------------------------------------------------------------
    private async Task<ThroughputResult> PipelineAsync(string name, int qos, int workers, bool shared, bool profile, IReadOnlyDictionary<string, string>? variant = null, bool partitioned = false)
    {
        Header(name, $"publisher -> mosquitto -> {workers} worker(s){(shared ? " on a shared subscription" : "")} -> durable spool -> InfluxDB (QoS {qos})");
        var db = NewDatabase();
        await _influx.CreateDatabaseAsync(db);
        var settings = WorkerSettings(variant, _topicRoot);
        if (shared)
        {
            // A topic root of its own, so the shared group receives only this phase's messages. (Before
            // wt-perf's fix, Mqtt:Subscriptions was appended to the default city/# instead of replacing it;
            // the separate root also kept that stray subscription idle.)
            _topicRoot = "s" + Tag();
            settings["SMARTCITY_Decoding__TopicRoot"] = _topicRoot;
            settings["SMARTCITY_Mqtt__Subscriptions__0"] = $"$share/bench/{_topicRoot}/#";
        }

        var map = partitioned ? WritePartitionMap(db, workers) : null;
        if (profile)
        {
            ProfileSettings(settings);
        }

        var instances = new List<WorkerProcess>();
        try
        {
            if (shared)
            {
                // A birth published live on a shared subscription reaches one member only, and the
                // other then quarantines that lamp's telemetry (UnknownDevice): the warm-up never
                // completes. Retained births already on the broker are sent to every member when it
                // subscribes (mosquitto 2.0.11), so the fleet announces itself before the workers start.
                await AnnounceAsync(name);
            }

            for (var i = 0; i < workers; i++)
            {
                instances.Add(WorkerProcess.Start(_env, _http, $"w{i}", db, _env.InfluxUrl, map is null ? settings : PartitionWorkerSettings(settings, map, i)));
            }

            foreach (var w in instances)
            {
                await w.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            }

            var idleRss = instances.Max(w => ProcStats.RssKb(w.Pid) ?? 0);
            using var runtime = RuntimeCounters.TryStart(instances[0].Pid);

            // Warm-up runs at max rate until one leaves the JIT under 50 ms (at most --warmup-runs): measured
            // after one run (2026-12-07 19:35 UTC, quiet), the JIT still took 3.1 s of the 11.5 s window.
            // The warm-up and the measured load are one series of current readings (DeviceTimeline).
            var timeline = Timeline(_s.WarmupRuns, variant: variant);
            var warmup = await WarmUntilJitQuietAsync("warm-up at max rate", _s.WarmupRuns, runtime, run => WhilePollingAsync(instances, () => WarmupAsync(name, timeline, births: run == 0)));
            _maxRateWarmupRuns = warmup.Runs;
            var baseline = await WaitQuiescentAsync(instances, warmup.Messages, TimeSpan.FromMinutes(2));

            _tracked.Clear();
            _tracked["worker"] = instances.Select(w => w.Pid).ToList();
            var threadsBefore = instances.Select(w => ProcStats.Threads(w.Pid)).ToList();
            var series = new List<(long Ms, WorkerCounters C)>();
            var jitAfterWarmup = runtime?.JitMs;
            double? jitBefore = null;
            JitWindowLog? jitLog = null;
            Task<string>? perf = null;
            var stored = (Ms: 0L, Count: 0L);
            IReadOnlyDictionary<string, long>? kernel = null;
            var (cpu, publisher) = await MeasuredPublishAsync(name, qos, async () =>
            {
                // The window has opened: JIT before it (the quiet wait, the publisher's start) is the warm-up's tail.
                jitBefore = runtime?.JitMs;
                jitLog = JitWindowLog.TryStart(settings);
                if (profile)
                {
                    perf = ProfileAsync(instances[0].Pid, TimeSpan.FromSeconds(8));
                }

                // One worker only: its counts are then the messages' (a shared subscription splits them).
                var counts = workers == 1 && !profile ? KernelCounts.TryStart(instances[0].Pid, Log($"perf-stat-{name}.csv")) : null;
                stored = await WaitStoredAsync(instances, baseline.PointsWritten + _s.Messages, () => _publisherDone, TimeSpan.FromMinutes(5), series);
                kernel = counts is null ? null : await counts.StopAsync();
            }, timeline);
            var jitMs = runtime?.JitMs - jitBefore;
            if (jitBefore - jitAfterWarmup is { } beforeWindow)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  JIT between the warm-up and the window (quiet wait, publisher start), not counted in it: {beforeWindow:F0} ms"));
            }
            if (jitLog is not null)
            {
                Console.WriteLine($"  {jitLog.Stop(Log($"jit-window-{name}.txt"))}");
            }

            var threads = BusiestThreads(threadsBefore, instances.Select(w => ProcStats.Threads(w.Pid)).ToList(), cpu.Seconds);
            var peak = instances.Max(w => w.PeakRssKb);
            var final = await SumCountersAsync(instances);
            if (perf is not null)
            {
                _report.Profile = await perf;
            }

            var measured = await CountMeasuredAsync(db, timeline);
            var seconds = (stored.Ms - publisher.StartMs) / 1000.0;
            var counted = measured;
            var workerCpu = cpu.ProcessPercent.GetValueOrDefault("worker");
            var figures = new WorkerFigures(
                workers,
                workerCpu,
                Math.Round(workerCpu / 100 * cpu.Seconds * 1e6 / Math.Max(1, counted), 1),
                peak,
                idleRss,
                series.Count == 0 ? 0 : series.Max(s => s.C.SpoolDepth),
                threads,
                WorkerSettingsDescription(settings),
                runtime?.Snapshot())
            {
                KernelPerMessage = kernel is null ? null : KernelCounts.PerMessage(kernel, counted),
                JitMsInWindow = jitMs,
            };
            if (counted == 0)
            {
                throw new InvalidOperationException($"nothing of the measured load was stored; worker rejections: {string.Join(", ", final.RejectedByReason.Select(kv => $"{kv.Key} {kv.Value:N0}"))} (logs: {_env.LogDirectory})");
            }

            var notes = $"InfluxQL count of the measured fleet {measured:N0}; worker counters: received {final.Received:N0}, points {final.PointsWritten:N0}, dead letters {final.DeadLettersWritten:N0}, rejected {final.Rejected:N0}, write failures {final.WriteFailures:N0}, spool-full events {final.SpoolFullEvents}";
            return Print(new ThroughputResult(name, _round, qos, publisher.Acknowledged, counted, Math.Round(seconds, 2), Math.Round(counted / seconds),
                SteadyRate(series, baseline.PointsWritten, _s.Messages), publisher.Rate, publisher.Acknowledged - counted, cpu, figures, notes));
        }
        finally
        {
            _topicRoot = _rootBase;
            foreach (var w in instances)
            {
                await w.StopAsync(_env);
                await w.DisposeAsync();
            }

            await _influx.DropDatabaseAsync(db);
        }
    }

    // ---------------------------------------------------------------------------------------
    // (4) latency from device timestamp to stored, at a paced rate
    // ---------------------------------------------------------------------------------------
    private async Task<LatencyResult> LatencyAsync(double rate, string variantName = "", IReadOnlyDictionary<string, string>? variant = null)
    {
        variant ??= new Dictionary<string, string>();
        var name = $"latency-{rate:F0}{variantName}";
        Header(name, $"paced {rate:N0} msg/s for {_s.LatencySeconds} s, QoS 1; ts = send time; stored = InfluxDB's 2xx to the write, seen by a pass-through proxy");
        var db = NewDatabase();
        await _influx.CreateDatabaseAsync(db);
        await using var proxy = await StoredTimeProxy.StartAsync(_env.InfluxUrl);
        // --profile-latency: the first paced phase of the main run (not a variant's), where the
        // CPU per message is the paced target's numerator.
        var profile = _s.ProfileLatency && variantName.Length == 0 && !_latencyProfiled;
        _latencyProfiled |= profile;
        var settings = WorkerSettings(variant, _topicRoot);
        if (profile)
        {
            ProfileSettings(settings);
        }

        var worker = WorkerProcess.Start(_env, _http, "lat", db, proxy.Url, settings);
        try
        {
            await worker.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            var idleRss = ProcStats.RssKb(worker.Pid) ?? 0;
            using var runtime = RuntimeCounters.TryStart(worker.Pid);
            // Current readings that end before the paced ones start (those are stamped with their send time).
            await WarmupAsync(name, Timeline(warmupRuns: 1, measuredMessages: 0, variant));
            // Then a few seconds at the phase's own pace: paths that only paced traffic takes (a reader
            // that waits for the socket, a commit of a handful of messages, the sink's linger) are
            // compiled at first use and recompiled with profile data (tiered PGO), which the max-rate
            // warm-up never reaches, so it runs until the JIT is quiet. Measured without it (2026-12-07 18:45 UTC), the JIT took a third of
            // the worker's samples in the first seconds of the paced window: a start-up cost counted as
            // the paced cost per message. The JIT time left in the window is printed below.
            var pacedWarmup = await PacedWarmupAsync(name, rate, _s.LatencyWarmupSeconds, runtime);
            var baseline = await WaitQuiescentAsync([worker], _s.Warmup + pacedWarmup, TimeSpan.FromMinutes(2));
            await WaitForQuietMachineAsync();
            var messages = (long)(rate * _s.LatencySeconds);
            _tracked.Clear();
            _tracked["worker"] = [worker.Pid];
            // The window opens at the publisher's START, as in the pipeline phase: its start-up and
            // JIT are not the paced load, and its CPU is its own ("publisher"), not "other".
            await using var pub = StartPublisher(name, qos: 1, messages, rate, startMs: null);
            _tracked["publisher"] = [pub.Pid];
            var window = Window();
            var start = long.Parse(await pub.WaitForAsync("START", TimeSpan.FromSeconds(60)), CultureInfo.InvariantCulture);
            var threadsBefore = ProcStats.Threads(worker.Pid);
            window.Start();
            var jitBefore = runtime?.JitMs;
            var jitLog = JitWindowLog.TryStart(settings);
            var counts = profile ? null : KernelCounts.TryStart(worker.Pid, Log($"perf-stat-{name}.csv"));
            var perf = profile ? ProfileAsync(worker.Pid, TimeSpan.FromSeconds(8), name) : null;
            var result = JsonSerializer.Deserialize<Publisher.Result>(await pub.WaitForAsync("RESULT", TimeSpan.FromSeconds(_s.LatencySeconds + 120)))!;
            _publisherDone = true;
            await WaitStoredAsync([worker], baseline.PointsWritten + messages, () => true, TimeSpan.FromMinutes(2), null);
            var cpu = window.Stop();
            var jitMs = runtime?.JitMs - jitBefore;
            var jitWindow = jitLog?.Stop(Log($"jit-window-{name}.txt"));
            var kernel = counts is null ? null : await counts.StopAsync();
            if (perf is not null)
            {
                _report.Profile = (_report.Profile is null ? "" : _report.Profile + "\n\n") + await perf;
            }

            var threads = BusiestThreads([threadsBefore], [ProcStats.Threads(worker.Pid)], cpu.Seconds);
            var latencies = proxy.Latencies(start - 1_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Array.Sort(latencies);
            var workerCpu = cpu.ProcessPercent.GetValueOrDefault("worker");
            var figures = new WorkerFigures(1, workerCpu, Math.Round(workerCpu / 100 * cpu.Seconds * 1e6 / Math.Max(1, messages), 1), worker.PeakRssKb, idleRss, 0, threads, WorkerSettingsDescription(variant), runtime?.Snapshot())
            {
                KernelPerMessage = kernel is null ? null : KernelCounts.PerMessage(kernel, messages),
                JitMsInWindow = jitMs,
            };
            var r = new LatencyResult(name, rate, result.Rate, messages, latencies.Length,
                Publisher.Percentile(latencies, 0.50), Publisher.Percentile(latencies, 0.90), Publisher.Percentile(latencies, 0.99), Publisher.Percentile(latencies, 0.999),
                latencies.Length > 0 ? Math.Round(latencies[^1], 1) : 0, result.LatenessP99Ms, cpu, figures);
            var writes = proxy.WriteTimes();
            Console.WriteLine($"  InfluxDB writes: {writes.Writes:N0}, {writes.MeanBytes / 1024:F0} KB on average, each took p50 {writes.P50:F0} ms, p99 {writes.P99:F0} ms, max {writes.Max:F0} ms (request to 2xx); slowest sent at {proxy.SlowestWrites(5)}");
            Console.WriteLine($"  where the time went (ts -> the worker's write request at the proxy -> stored): {proxy.TailBreakdown(start - 1_000, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), 0.99)}");
            Console.WriteLine($"  {r.Measured:N0} of {r.Messages:N0} points measured; ts -> stored p50 {r.P50Ms:F0} ms, p90 {r.P90Ms:F0} ms, p99 {r.P99Ms:F0} ms, p99.9 {r.P999Ms:F0} ms, max {r.MaxMs:F0} ms; publisher lateness p99 {r.PublisherLatenessP99Ms:F1} ms");
            Console.WriteLine($"  cpu: {cpu.Describe()}; worker peak RSS {figures.PeakRssKb / 1024.0:F0} MB");
            Console.WriteLine($"  {DescribeJit(figures, cpu.Seconds)}");
            if (jitWindow is not null)
            {
                Console.WriteLine($"  {jitWindow}");
            }

            Console.WriteLine($"  worker {KernelCounts.Describe(figures.KernelPerMessage)}");
            Console.WriteLine($"  {RuntimeCounters.Describe(figures.Runtime)}");
            if (r.Measured < r.Messages)
            {
                Console.WriteLine($"  WARNING: {r.Messages - r.Measured:N0} points not seen by the proxy ({proxy.Describe()})");
            }

            return r;
        }
        finally
        {
            await worker.StopAsync(_env);
            await worker.DisposeAsync();
            await _influx.DropDatabaseAsync(db);
        }
    }

    // ---------------------------------------------------------------------------------------
    // (4b) InfluxDB's own write latency at the latency rate: the database's raw limit
    // ---------------------------------------------------------------------------------------
    private async Task<InfluxLatencyResult> InfluxLatencyAsync(double rate)
    {
        var name = $"influx-latency-{rate:F0}";
        var interval = TimeSpan.FromMilliseconds(200);
        Header(name, $"the worker's lines posted directly, paced at {rate:N0} points/s in one batch every {interval.TotalMilliseconds:F0} ms for {_s.LatencySeconds} s, one write at a time: InfluxDB's own write latency");
        var points = Math.Max(1, (long)(rate * _s.LatencySeconds));
        var perBatch = Math.Max(1, (int)Math.Round(rate * interval.TotalSeconds));
        var lines = InfluxCeiling.WorkerLines(_s.Lamps, _s.Districts, points, DateTimeOffset.UtcNow.AddDays(-1));
        var db = NewDatabase();
        await _influx.CreateDatabaseAsync(db);
        try
        {
            await WaitForQuietMachineAsync();
            _tracked.Clear();
            _tracked["bench"] = [Environment.ProcessId];
            var window = Window();
            window.Start();
            var run = await InfluxLatency.RunAsync(_http, _env.InfluxUrl, _env.InfluxToken, _env.InfluxOrg, db, lines, perBatch, interval);
            var cpu = window.Stop();
            var stored = await _influx.CountAsync(db, "street_light", "power_w");
            var sorted = run.WriteMs.Order().ToArray();
            var r = new InfluxLatencyResult(name, rate, Math.Round(run.Points / Math.Max(0.001, run.Seconds)), (int)interval.TotalMilliseconds, perBatch, run.Batches, run.Points, stored,
                Publisher.Percentile(sorted, 0.50), Publisher.Percentile(sorted, 0.99), sorted.Length > 0 ? Math.Round(sorted[^1], 1) : 0,
                Math.Round(100.0 * run.LateBatches / Math.Max(1, run.Batches), 1), cpu);
            Console.WriteLine($"  {r.Points:N0} points in {r.Batches} writes of {perBatch:N0} lines in {run.Seconds:F2} s = {r.PostedRate:N0} points/s; write p50 {r.P50Ms:F0} ms, p99 {r.P99Ms:F0} ms, max {r.MaxMs:F0} ms; {r.LateBatchesPercent:F0}% of batches late; stored {stored:N0}");
            Console.WriteLine($"  cpu: {cpu.Describe()}");
            return r;
        }
        finally
        {
            try
            {
                await _influx.DropDatabaseAsync(db);
            }
            catch (Exception ex) when (Influx.IsQueryFailure(ex))
            {
                Console.WriteLine($"  (database {db} not dropped: {ex.Message})");
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // scale: the worker's memory with the 100,000-device scenario
    // ---------------------------------------------------------------------------------------
    private async Task<MemoryResult> Memory100kAsync(string variantName = "", IReadOnlyDictionary<string, string>? variant = null)
    {
        Header("memory-100k" + variantName, $"smartcity-sim scenario {Path.GetFileName(_s.Scenario)} --load -> mosquitto -> worker -> InfluxDB");
        var db = NewDatabase();
        await _influx.CreateDatabaseAsync(db);
        // A topic root of its own: retained births of earlier runs (100,000 per run) are not
        // delivered to this worker, so every memory run starts from the same broker state.
        var root = "m" + Tag();
        var settings = new Dictionary<string, string>(variant ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["SMARTCITY_Decoding__TopicRoot"] = root,
            ["SMARTCITY_Mqtt__Subscriptions__0"] = root + "/#",
        };
        // The city's device count, configured as a city of this size would (README, Registry:ExpectedDevices); a variant may set another.
        settings.TryAdd("SMARTCITY_Registry__ExpectedDevices", Str(ScenarioDevices(_s.Scenario)));
        var worker = WorkerProcess.Start(_env, _http, "mem", db, _env.InfluxUrl, settings);
        try
        {
            await worker.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            var idleRss = ProcStats.RssKb(worker.Pid) ?? 0;
            using var runtime = RuntimeCounters.TryStart(worker.Pid);
            var simArgs = new[]
            {
                "scenario", _s.Scenario, "--host", _env.MqttHost, "--port", Str(_env.MqttPort), "--load", "--gateways", "8", "--in-flight", "500",
                "--max-messages", Str(_s.MemoryMessages), "--max-seconds", Str(_s.MemorySeconds), "--client-id-prefix", "bench-100k-" + Tag(), "--topic-root", root,
            };
            var command = "smartcity-sim " + string.Join(' ', simArgs.Take(simArgs.Length - 4)).Replace(_s.Scenario, "simulators/scenarios/" + Path.GetFileName(_s.Scenario), StringComparison.Ordinal);
            _tracked.Clear();
            _tracked["worker"] = [worker.Pid];
            var window = Window();
            window.Start();
            var (user, password) = BenchEnvironment.BrokerAccount();
            string[] login = user is null ? [] : ["--username", user, "--password", password ?? ""];
            await using var sim = ChildProcess.StartDotnet(Path.Combine(AppContext.BaseDirectory, "smartcity-sim.dll"), [.. simArgs, .. login], Log("smartcity-sim-100k.log"));
            _tracked["simulator"] = [sim.Pid];
            var line = await sim.WaitForAsync("published=", TimeSpan.FromSeconds(_s.MemorySeconds + 120));
            window.Keep(); // the simulator's CPU, before it exits and leaves /proc
            await sim.WaitForExitAsync(TimeSpan.FromSeconds(30));
            var fields = ("published=" + line).Split(' ').Select(p => p.Split('=')).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
            var published = long.Parse(fields["published"], CultureInfo.InvariantCulture);
            var simSeconds = double.Parse(fields["seconds"], CultureInfo.InvariantCulture);
            // Let the worker store everything it received (bounded), then read its peak.
            var deadline = DateTime.UtcNow.AddSeconds(120);
            WorkerCounters? c;
            while ((c = await worker.CountersAsync()) is not null && (c.Received < published || c.SpoolDepth > 0) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }

            var cpu = window.Stop();
            c ??= await worker.CountersAsync() ?? throw new InvalidOperationException("worker counters unavailable");
            var peak = worker.PeakRssKb;
            var rss = ProcStats.RssKb(worker.Pid) ?? 0;
            var (anon, file) = ProcStats.RssSplitKb(worker.Pid);
            long? lampDevices = null;
            string? lampDevicesError = null;
            try
            {
                lampDevices = await _influx.ScalarAsync(db, "SHOW TAG VALUES EXACT CARDINALITY FROM street_light WITH KEY = \"device_id\"");
            }
            catch (Exception ex) when (Influx.IsQueryFailure(ex))
            {
                // An influxd busy with the 100,000 devices' series can cut this answer short
                // (HttpIOException: the response ended early). The count is a cross-check, not the
                // phase's figure: reported as a failed query, the memory figures stand.
                lampDevicesError = $"{ex.GetType().Name}: {ex.Message}";
                _report.Failures.Add($"{"memory-100k" + variantName}: street-light device count query failed: {lampDevicesError}");
                Console.WriteLine($"  (street-light device count unavailable: {lampDevicesError})");
            }

            var r = new MemoryResult("memory-100k" + variantName, ScenarioDevices(_s.Scenario), published, simSeconds, c.Received, c.PointsWritten, c.DeadLettersWritten, lampDevices, lampDevicesError, peak, rss, idleRss, anon, file,
                cpu.ProcessPercent.GetValueOrDefault("worker"), c.RejectedByReason, command, WorkerSettingsDescription(variant ?? new Dictionary<string, string>()), runtime?.Snapshot(), cpu);
            Console.WriteLine($"  simulator published {published:N0} in {simSeconds:F0} s; worker received {c.Received:N0}, stored {c.PointsWritten:N0} points + {c.DeadLettersWritten:N0} dead letters; street lights with stored telemetry: {(lampDevices is { } n ? n.ToString("N0", CultureInfo.InvariantCulture) : "unknown")}");
            Console.WriteLine($"  rejected by reason: {string.Join(", ", c.RejectedByReason.Select(kv => $"{kv.Key} {kv.Value:N0}"))}");
            Console.WriteLine($"  {RuntimeCounters.Describe(r.Runtime)}");
            Console.WriteLine($"  worker peak RSS (VmHWM) {peak / 1024.0:F0} MB; idle after start {idleRss / 1024.0:F0} MB; at the end {rss / 1024.0:F0} MB ({anon / 1024.0:F0} MB anonymous: heaps and stacks, {file / 1024.0:F0} MB file-backed: mapped runtime and assemblies); cpu: {cpu.Describe()}");
            return r;
        }
        finally
        {
            await worker.StopAsync(_env);
            await worker.DisposeAsync();
            try
            {
                await _influx.DropDatabaseAsync(db);
            }
            catch (Exception ex) when (Influx.IsQueryFailure(ex))
            {
                // An overloaded influxd can drop this request: the figures above stand, the next phase uses a new database.
                Console.WriteLine($"  (database {db} not dropped: {ex.Message})");
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------

    /// <summary>Devices of a scenario file (the sum of its "devices" counts), so the memory figure names its fleet size.</summary>
    private static int ScenarioDevices(string scenario)
    {
        try
        {
            using var json = JsonDocument.Parse(File.ReadAllText(scenario), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return json.RootElement.TryGetProperty("devices", out var devices) && devices.ValueKind == JsonValueKind.Object
                ? devices.EnumerateObject().Where(d => d.Value.ValueKind == JsonValueKind.Number).Sum(d => d.Value.GetInt32())
                : 0;
        }
        catch (Exception ex) when (ex is IOException or JsonException or FormatException)
        {
            return 0;
        }
    }

    private volatile bool _publisherDone;
    private bool _latencyProfiled;

    // The warm-up runs the last pipeline phase needed: the Node-RED peer gets as many (its V8 compiles too).
    private int _maxRateWarmupRuns = 1;
    private readonly string _rootBase;
    private string _topicRoot;

    /// <summary>The worker's environment: a variant's settings, and the topic root when it is not the default city.</summary>
    private static Dictionary<string, string> WorkerSettings(IReadOnlyDictionary<string, string>? variant, string root)
    {
        var settings = new Dictionary<string, string>(variant ?? new Dictionary<string, string>(), StringComparer.Ordinal);
        if (root != "city")
        {
            settings["SMARTCITY_Decoding__TopicRoot"] = root;
            settings["SMARTCITY_Mqtt__Subscriptions__0"] = root + "/#";
        }

        return settings;
    }

    /// <summary>
    /// Runs <paramref name="run"/> (a warm-up publisher; it returns the messages it sent) until one run leaves the
    /// JIT under 50 ms by the runtime's time-in-jit counter, at most <paramref name="maxRuns"/> times: a window
    /// measured while the runtime still compiles and recompiles (tiered PGO) measures start-up, which a city's
    /// worker pays once, not the steady cost per message. Without counters (null), one run.
    /// </summary>
    private static async Task<(long Messages, int Runs)> WarmUntilJitQuietAsync(string what, int maxRuns, RuntimeCounters? runtime, Func<int, Task<long>> run)
    {
        long sent = 0;
        var jitPerRun = new List<string>();
        for (var i = 0; i < Math.Max(1, maxRuns); i++)
        {
            var jitBefore = runtime?.JitMs;
            sent += await run(i);
            // The counter reports once a second: wait for its report of the run's last second.
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            var jit = runtime?.JitMs - jitBefore;
            jitPerRun.Add(jit is { } j ? j.ToString("F0", CultureInfo.InvariantCulture) : "?");
            if (jit is null or < 50)
            {
                break;
            }
        }

        Console.WriteLine($"  {what}: {sent:N0} messages in {jitPerRun.Count} run(s), JIT ms per run: {string.Join(", ", jitPerRun)}");
        return (sent, jitPerRun.Count);
    }

    /// <summary>The latency phase's second warm-up: 5-second runs at the phase's own <paramref name="rate"/>, at most <paramref name="maxSeconds"/>.</summary>
    private async Task<long> PacedWarmupAsync(string name, double rate, int maxSeconds, RuntimeCounters? runtime)
    {
        const int Chunk = 5;
        if (maxSeconds <= 0)
        {
            return 0;
        }

        var warmup = await WarmUntilJitQuietAsync($"warm-up at {rate:N0} msg/s", (maxSeconds + Chunk - 1) / Chunk, runtime, async _ =>
        {
            var messages = (long)(rate * Chunk);
            await using var pub = StartPublisher($"{name}-paced-warmup", 1, messages, rate, startMs: null);
            await pub.WaitForAsync("RESULT", TimeSpan.FromSeconds(messages / rate + 120));
            pub.Release();
            await pub.WaitForExitAsync(TimeSpan.FromSeconds(30));
            return messages;
        });
        return warmup.Messages;
    }

    /// <summary>The JIT's time inside the measured window (the runtime's time-in-jit counter, 1 s resolution) and its share of the worker's CPU there.</summary>
    private static string DescribeJit(WorkerFigures w, double seconds)
    {
        if (w.JitMsInWindow is not { } ms)
        {
            return "JIT in the window: not counted (runtime counters unavailable)";
        }

        return string.Create(CultureInfo.InvariantCulture, $"JIT in the window: {ms:F0} ms = {BenchTargets.JitShare(w, ms, seconds):F1} % of the worker's CPU there");
    }

    /// <summary>
    /// A warm-up run: the fleet announces itself (retained births) unless <paramref name="births"/> is false, then
    /// --warmup messages at max rate (QoS 1), the next slice of <paramref name="timeline"/>'s current readings, so
    /// JIT, connection set-up and device registration are not measured. Returns the messages sent.
    /// </summary>
    private async Task<long> WarmupAsync(string name, DeviceTimeline timeline, bool births = true)
    {
        var messages = timeline.WarmupMessages;
        await using var pub = StartPublisher(name + "-warmup", 1, messages, 0, timeline.WarmupStartMs, births, timeline.NextWarmupFirst());
        await pub.WaitForAsync("RESULT", TimeSpan.FromMinutes(2));
        pub.Release();
        await pub.WaitForExitAsync(TimeSpan.FromSeconds(30));
        return messages;
    }

    /// <summary>Only the fleet's retained births, no telemetry.</summary>
    private async Task AnnounceAsync(string name)
    {
        await using var pub = StartPublisher(name + "-births", 1, 0, 0, startMs: null, births: true);
        await pub.WaitForAsync("RESULT", TimeSpan.FromMinutes(2));
        pub.Release();
        await pub.WaitForExitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// Runs the measured publisher (the measured slice of <paramref name="timeline"/>, if any) while <paramref name="waitForFarEnd"/>
    /// waits for the far end; CPU is measured over the same window.
    /// </summary>
    private async Task<(CpuReport Cpu, Publisher.Result Publisher)> MeasuredPublishAsync(string name, int qos, Func<Task> waitForFarEnd, DeviceTimeline? timeline = null)
    {
        await WaitForQuietMachineAsync();
        _publisherDone = false;
        await using var pub = StartPublisher(name, qos, _s.Messages, 0, timeline?.StartMs, first: timeline?.MeasuredFirst() ?? 0);
        _tracked["publisher"] = [pub.Pid];
        var window = Window();
        await pub.WaitForAsync("START", TimeSpan.FromSeconds(120));
        window.Start();
        var publisherResult = PublisherResultAsync(pub);
        await waitForFarEnd();
        var cpu = window.Stop();
        var result = await publisherResult;
        return (cpu, result);
    }

    private async Task<Publisher.Result> PublisherResultAsync(ChildProcess pub)
    {
        var json = await pub.WaitForAsync("RESULT", TimeSpan.FromMinutes(5));
        _publisherDone = true;
        return JsonSerializer.Deserialize<Publisher.Result>(json)!;
    }

    private ChildProcess StartPublisher(string name, int qos, long messages, double rate, long? startMs, bool births = false, long first = 0)
    {
        var args = new List<string>
        {
            "publish", "--host", _env.MqttHost, "--port", Str(_env.MqttPort), "--connections", Str(_s.Connections), "--in-flight", Str(_s.InFlight),
            "--qos", Str(qos), "--messages", Str(messages), "--lamps", Str(_s.Lamps), "--districts", Str(_s.Districts),
            "--rate", rate.ToString(CultureInfo.InvariantCulture), "--client-id-prefix", $"bench-pub-{Tag()}", "--topic-root", _topicRoot,
        };
        if (startMs is { } s)
        {
            args.AddRange(["--start-ms", Str(s)]);
        }

        if (first > 0)
        {
            args.AddRange(["--first", Str(first)]);
        }

        if (births)
        {
            args.Add("--births");
        }

        return ChildProcess.StartDotnet(BenchDll, args, Log($"publisher-{name}.log"));
    }

    /// <summary>
    /// Polls the workers' counters until <paramref name="target"/> points are stored, or (QoS 0)
    /// until the publisher is done and nothing more arrives for 3 s. Returns when and how many.
    /// </summary>
    private static Task<(long Ms, long Count)> WaitStoredAsync(IReadOnlyList<WorkerProcess> workers, long target, Func<bool> publisherDone, TimeSpan timeout, List<(long Ms, WorkerCounters C)>? series) =>
        WaitStoredAsync(() => SumCountersAsync(workers), target, publisherDone, timeout, series);

    /// <summary>As above, with the counters read by <paramref name="read"/> (the Node-RED peer's flow counters).</summary>
    private static async Task<(long Ms, long Count)> WaitStoredAsync(Func<Task<WorkerCounters>> read, long target, Func<bool> publisherDone, TimeSpan timeout, List<(long Ms, WorkerCounters C)>? series)
    {
        var deadline = DateTime.UtcNow + timeout;
        long last = -1;
        var lastChangeMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        while (DateTime.UtcNow < deadline)
        {
            var c = await read();
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            series?.Add((now, c));
            if (c.PointsWritten >= target)
            {
                return (now, c.PointsWritten);
            }

            if (c.PointsWritten != last)
            {
                last = c.PointsWritten;
                lastChangeMs = now;
            }
            else if (publisherDone() && now - lastChangeMs > 3_000 && c.SpoolDepth == 0)
            {
                return (lastChangeMs, c.PointsWritten);
            }

            await Task.Delay(CounterPollInterval);
        }

        throw new TimeoutException($"{target:N0} points not stored within {timeout.TotalSeconds:F0} s (stored {last:N0})");
    }

    /// <summary>
    /// Waits until the warm-up is stored and the workers are idle (nothing received for 1 s, spool
    /// empty); the counters then are the baseline of the measured load.
    /// </summary>
    private static Task<WorkerCounters> WaitQuiescentAsync(IReadOnlyList<WorkerProcess> workers, long minPoints, TimeSpan timeout) =>
        WaitQuiescentAsync(() => SumCountersAsync(workers), minPoints, timeout);

    private static async Task<WorkerCounters> WaitQuiescentAsync(Func<Task<WorkerCounters>> read, long minPoints, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        WorkerCounters? previous = null;
        var stableSince = DateTime.UtcNow;
        while (DateTime.UtcNow < deadline)
        {
            var c = await read();
            if (previous is null || c.Received != previous.Received || c.Stored != previous.Stored)
            {
                stableSince = DateTime.UtcNow;
            }
            else if (c.PointsWritten >= minPoints && c.SpoolDepth == 0 && DateTime.UtcNow - stableSince > TimeSpan.FromSeconds(1))
            {
                return c;
            }

            previous = c;
            await Task.Delay(100);
        }

        throw new TimeoutException($"warm-up not stored within {timeout.TotalSeconds:F0} s (last counters: {previous}); see the worker logs");
    }

    /// <summary>
    /// This machine is shared: before a measured window, wait (bounded by --quiet-wait) until it has
    /// been nearly idle for a second. Whatever else runs during the window is reported as "other".
    /// </summary>
    private async Task WaitForQuietMachineAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(_s.QuietWaitSeconds);
        do
        {
            var before = ProcStats.Machine();
            await Task.Delay(1000);
            var after = ProcStats.Machine();
            var busy = (double)(after.Busy - before.Busy) / Math.Max(1, after.Total - before.Total) * 100 * Environment.ProcessorCount;
            if (busy < 25)
            {
                return;
            }
        }
        while (DateTime.UtcNow < deadline);
        Console.WriteLine($"  (machine still busy after waiting {_s.QuietWaitSeconds} s for it to be idle: measuring anyway; see 'other')");
    }

    /// <summary>How often the bench reads the workers' counters while it waits for the far end, and during the warm-up (WhilePollingAsync): the same cadence, so the warm-up tiers up the poll's path.</summary>
    private static readonly TimeSpan CounterPollInterval = CounterPoll.Interval;

    /// <summary>
    /// Runs <paramref name="run"/> while reading the workers' counters every <see cref="CounterPollInterval"/>, as <see cref="WaitStoredAsync(IReadOnlyList{WorkerProcess}, long, Func{bool}, TimeSpan, List{ValueTuple{long, WorkerCounters}}?)"/>
    /// does through the measured window: the operator API's request path (Kestrel, routing, the JSON of /api/pipeline) is then
    /// compiled and tiered up in the warm-up. Without it, the JIT log of a quiet max-rate window (session 11, 23:24 UTC)
    /// listed 1,489 methods compiled there, most of them Kestrel's and ASP.NET's (instrumented and tier-1 recompiles of
    /// the poll's path), and the window carried 23-52 % JIT after a warm-up whose last run compiled under 100 ms.
    /// </summary>
    private static Task<T> WhilePollingAsync<T>(IReadOnlyList<WorkerProcess> workers, Func<Task<T>> run) =>
        CounterPoll.WhileAsync(() => SumCountersAsync(workers), run);

    private static async Task<WorkerCounters> SumCountersAsync(IReadOnlyList<WorkerProcess> workers)
    {
        var all = new List<WorkerCounters>();
        foreach (var w in workers)
        {
            all.Add(await w.CountersAsync() ?? throw new InvalidOperationException($"worker {w.Pid} does not answer /api/pipeline"));
        }

        return new WorkerCounters(
            all.Sum(c => c.Received), all.Sum(c => c.Accepted), all.Sum(c => c.Rejected), all.Sum(c => c.PointsWritten), all.Sum(c => c.DeadLettersWritten),
            all.Sum(c => c.Acknowledged), all.Sum(c => c.WriteFailures), all.Sum(c => c.SpoolDepth), all.Max(c => c.SpoolOldestAgeSeconds), all.Sum(c => c.SpoolFullEvents),
            all.SelectMany(c => c.RejectedByReason).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Sum(kv => kv.Value), StringComparer.Ordinal));
    }

    /// <summary>Stored rate between 10% and 90% of the measured messages: the steady state, without ramp-up and tail.</summary>
    private static double SteadyRate(List<(long Ms, WorkerCounters C)> series, long baseCount, long messages)
    {
        var a = series.FirstOrDefault(s => s.C.PointsWritten >= baseCount + (messages / 10));
        var b = series.FirstOrDefault(s => s.C.PointsWritten >= baseCount + (messages * 9 / 10));
        return a.C is null || b.C is null || b.Ms <= a.Ms ? 0 : Math.Round((b.C.PointsWritten - a.C.PointsWritten) / ((b.Ms - a.Ms) / 1000.0));
    }

    private static List<string> BusiestThreads(List<Dictionary<int, (string Name, long Ticks)>> before, List<Dictionary<int, (string Name, long Ticks)>> after, double seconds)
    {
        var byName = new Dictionary<string, (double Ticks, int Threads)>(StringComparer.Ordinal);
        for (var i = 0; i < after.Count; i++)
        {
            foreach (var (tid, (threadName, ticks)) in after[i])
            {
                var delta = ticks - (before[i].TryGetValue(tid, out var b) ? b.Ticks : 0);
                var key = threadName.Trim();
                var current = byName.GetValueOrDefault(key);
                byName[key] = (current.Ticks + delta, current.Threads + (delta > 0 ? 1 : 0));
            }
        }

        return byName.Where(kv => kv.Value.Ticks > 0).OrderByDescending(kv => kv.Value.Ticks).Take(8)
            .Select(kv => $"{kv.Key} (x{kv.Value.Threads}) {kv.Value.Ticks / ProcStats.TicksPerSecond / seconds * 100:F0}%").ToList();
    }

    /// <summary>
    /// perf samples of the worker (on-CPU, all threads, kernel included; JIT-compiled methods named
    /// through the runtime's perf map, DOTNET_PerfMapEnabled=1). Summaries by binary, by thread and
    /// by symbol go into the report; the full report into the logs.
    /// </summary>
    private static void ProfileSettings(Dictionary<string, string> settings)
    {
        settings["DOTNET_PerfMapEnabled"] = "1";
        // With W^X on (the default) JIT code runs from a double mapping ("memfd:doublemapper" in
        // perf), which perf does not look up in the perf map: every managed frame was unnamed.
        settings["DOTNET_EnableWriteXorExecute"] = "0";
    }

    private async Task<string> ProfileAsync(int pid, TimeSpan duration, string phase = "pipeline-qos1")
    {
        // BENCH_PERF_EVENT (e.g. sched:sched_switch, sched:sched_wakeup) records that event with its call
        // chains instead of CPU samples: where the worker's threads sleep and are woken. The data then goes
        // to the logs (kept after the run) for `perf script`.
        var perfEvent = Environment.GetEnvironmentVariable("BENCH_PERF_EVENT");
        string[] what = string.IsNullOrEmpty(perfEvent) ? ["-F", "499"] : ["-e", perfEvent];
        // The max-rate profile keeps its file names (docs/performance.md refers to them); others are prefixed.
        string Prefixed(string file) => phase == "pipeline-qos1" ? file : $"{phase}-{file}";
        var data = Path.Combine(string.IsNullOrEmpty(perfEvent) ? _env.WorkDirectory : _env.LogDirectory, Prefixed("perf-worker.data"));
        await Task.Delay(TimeSpan.FromSeconds(2));
        using (var record = Process.Start(new ProcessStartInfo("perf", ["record", .. what, "-g", "-p", Str(pid), "-o", data, "--", "sleep", Str((int)duration.TotalSeconds)]) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false })!)
        {
            await record.WaitForExitAsync();
        }

        async Task<string> ReportAsync(string file, params string[] sort)
        {
            using var report = Process.Start(new ProcessStartInfo("perf", ["report", "-i", data, "--stdio", "--no-children", "-g", "none", .. sort]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            var text = await report.StandardOutput.ReadToEndAsync();
            await report.WaitForExitAsync();
            await File.WriteAllTextAsync(Path.Combine(_env.LogDirectory, Prefixed(file)), text);
            return string.Join('\n', text.Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('%', StringComparison.Ordinal)).Take(14).Select(l => "  " + l.Trim()));
        }

        var byDso = await ReportAsync("perf-worker-dso.txt", "--sort", "dso");
        var byThread = await ReportAsync("perf-worker-threads.txt", "--sort", "comm");
        var bySymbol = await ReportAsync("perf-worker-symbols.txt", "--sort", "dso,sym");
        return $"perf record {string.Join(' ', what)} -g -p <worker> for {duration.TotalSeconds:F0} s during {phase} (full reports in the logs):\n"
            + $"by binary:\n{byDso}\nby thread:\n{byThread}\nby symbol:\n{bySymbol}";
    }

    private CpuWindow Window() => new(() =>
    {
        var all = _env.ServerProcesses();
        foreach (var (k, v) in _tracked)
        {
            all[k] = v;
        }

        all.TryAdd("bench", [Environment.ProcessId]);
        return all;
    });

    private static string WorkerSettingsDescription(IReadOnlyDictionary<string, string> extra)
    {
        var settings = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .Select(e => (Key: (string)e.Key, Value: (string?)e.Value ?? ""))
            .Where(e => (e.Key.StartsWith("SMARTCITY_", StringComparison.Ordinal) && !e.Key.StartsWith("SMARTCITY_TEST_", StringComparison.Ordinal)) || e.Key.StartsWith("DOTNET_", StringComparison.Ordinal))
            .Concat(extra.Select(kv => (kv.Key, kv.Value)))
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => $"{e.Key}={e.Value}")
            .ToList();
        return settings.Count == 0 ? "defaults (appsettings.json)" : string.Join(' ', settings);
    }

    private static ThroughputResult Print(ThroughputResult r)
    {
        Console.WriteLine($"  {r.Counted:N0} of {r.Published:N0} counted in {r.Seconds:F2} s from the first publish = {r.Rate:N0} msg/s (steady {r.SteadyRate:N0}); publisher {r.PublisherRate:N0} msg/s; lost {r.Lost:N0}");
        Console.WriteLine($"  cpu: {r.Cpu.Describe()}");
        if (r.Worker is { } w)
        {
            var who = r.Name == PeerNodeRed.Phase ? "Node-RED" : "worker"; // the peer's figures in the worker's record
            Console.WriteLine($"  {who}: {w.CpuPercent:F0}% cpu = {w.CpuMicrosecondsPerMessage:F1} us/message, peak RSS {w.PeakRssKb / 1024.0:F0} MB (idle after start {w.IdleRssKb / 1024.0:F0} MB), max spool depth {w.MaxSpoolDepth:N0}");
            Console.WriteLine($"  {who} threads: {string.Join("; ", w.BusiestThreads)}");
            if (w.KernelPerMessage is not null)
            {
                Console.WriteLine($"  worker {KernelCounts.Describe(w.KernelPerMessage)}");
            }

            Console.WriteLine($"  {RuntimeCounters.Describe(w.Runtime)}");
            if (w.Runtime is not null)
            {
                Console.WriteLine($"  {DescribeJit(w, r.Cpu.Seconds)}");
            }
        }

        Console.WriteLine($"  {r.Notes}");
        return r;
    }

    private void Header(string name, string what)
    {
        _phase++;
        Console.WriteLine();
        Console.WriteLine($"[{_phase}] {name}: {what}  (load average {ProcStats.LoadAverage1():F2}; {_clock.Elapsed.TotalSeconds:F0} s into the run)");
        ResetBroker();
    }

    /// <summary>
    /// Every phase starts on an empty broker (same port, no retained messages, no sessions). With
    /// the test configuration's persistence (a full rewrite of the database every 2 s), what earlier
    /// phases leave in mosquitto's message store taxes later phases: in a 12-minute run the store
    /// reached 1.4 M messages and a 440 MB file, and mosquitto used 30-45% of a core while idle.
    /// </summary>
    private void ResetBroker()
    {
        if (_s.ExistingServers)
        {
            // Servers someone else started (the test suite's): restarting their broker would cut
            // off every other client; this run keeps to its own topic root instead.
            return;
        }

        var script = Environment.GetEnvironmentVariable("SMARTCITY_TEST_SERVERS_SCRIPT");
        if (script is null || _env.ServersRunDirectory is null)
        {
            return;
        }

        Run(script, "stop-mosquitto", _env.ServersRunDirectory);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_env.ServersRunDirectory, "mosquitto", "data")))
        {
            File.Delete(file);
        }

        Run(script, "start-mosquitto", _env.ServersRunDirectory);

        static void Run(string program, params string[] args)
        {
            using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed: {p.StandardError.ReadToEnd()}");
            }
        }
    }

    private static string NewDatabase() => "bench_" + Guid.NewGuid().ToString("N")[..8];

    private static string Tag() => Guid.NewGuid().ToString("N")[..6];

    private string Log(string file) => Path.Combine(_env.LogDirectory, file);

    private static string Str(long v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary><c>2000,3000,4000</c> -> rates in msg/s (none when the option is absent).</summary>
    private static List<double> ParseRates(string? text)
    {
        var rates = new List<double>();
        foreach (var part in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!double.TryParse(part, NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) || rate <= 0)
            {
                throw new ArgumentException($"--latency-rates: '{part}' is not a positive rate (msg/s)");
            }

            rates.Add(rate);
        }

        if (text is not null && rates.Count == 0)
        {
            throw new ArgumentException("--latency-rates needs at least one rate, e.g. 2000,3000,4000,5000");
        }

        return rates;
    }

    /// <summary><c>name:KEY=VALUE,KEY=VALUE;name2:...</c> -> (" [name]", environment).</summary>
    private static List<(string, IReadOnlyDictionary<string, string>)> ParseVariants(string text)
    {
        var result = new List<(string, IReadOnlyDictionary<string, string>)>();
        foreach (var part in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                throw new ArgumentException($"--variants: '{part}' is not name:KEY=VALUE,...");
            }

            var env = part[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(kv => kv.Split('=', 2))
                // %VAR% in a value is taken from the bench's environment (servers.env): ports known only at run time.
                .ToDictionary(kv => kv[0], kv => kv.Length == 2 ? Environment.ExpandEnvironmentVariables(kv[1]) : throw new ArgumentException($"--variants: '{string.Join('=', kv)}' is not KEY=VALUE"), StringComparer.Ordinal);
            result.Add(($" [{part[..colon]}]", env));
        }

        return result;
    }

    private static string FindRepoFile(string relative)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, relative);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return relative;
    }

    private static async Task<MachineInfo> DescribeMachineAsync()
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKb = long.Parse(File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        return new MachineInfo(
            DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture),
            cpu,
            Environment.ProcessorCount,
            memKb / 1024,
            (await File.ReadAllTextAsync("/proc/sys/kernel/osrelease")).Trim(),
            Environment.Version.ToString(),
            await FirstLineAsync("sh", "-c", "mosquitto -h 2>&1 | head -1"),
            await FirstLineAsync("sh", "-c", "influxd version 2>&1 | head -1"),
            ProcStats.LoadAverage1());
    }

    private static async Task<string> FirstLineAsync(string program, params string[] args)
    {
        try
        {
            using var p = Process.Start(new ProcessStartInfo(program, args) { RedirectStandardOutput = true, UseShellExecute = false })!;
            var text = await p.StandardOutput.ReadToEndAsync();
            await p.WaitForExitAsync();
            return text.Split('\n')[0].Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }

    public static string Summary(BenchReport r)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture);
        var influx = r.Influx?.Ceiling ?? 0;
        string N(double v) => v.ToString("N0", CultureInfo.InvariantCulture);
        w.WriteLine("=== SUMMARY ===");
        w.WriteLine($"machine: {r.Machine.Cpu}, {r.Machine.Cores} cores, {r.Machine.MemoryMb:N0} MB RAM, kernel {r.Machine.Kernel}, .NET {r.Machine.Dotnet}, {r.Machine.Mosquitto}, InfluxDB {r.Machine.InfluxDb}; {r.Machine.Date}, load average at start {r.Machine.LoadAverageAtStart:F2}");
        w.WriteLine($"load: {r.PublisherDescription}");
        w.WriteLine(r.LoadVerdict());
        w.WriteLine();
        w.WriteLine("| measurement | round | msg/s (first publish -> last counted) | steady 10-90% | lost | worker CPU | worker peak RSS | CPU: where the 2 cores went |");
        w.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|");
        foreach (var t in r.Throughput.OrderBy(t => t.Name, StringComparer.Ordinal).ThenBy(t => t.Round))
        {
            var worker = t.Worker is { } wf ? $"{wf.CpuPercent:F0}% ({wf.CpuMicrosecondsPerMessage:F0} us/msg)" : "-";
            var rss = t.Worker is { } wm ? $"{wm.PeakRssKb / 1024.0:F0} MB" : "-";
            w.WriteLine($"| {t.Name} | {t.Round} | {N(t.Rate)} | {(t.SteadyRate > 0 ? N(t.SteadyRate) : "-")} | {N(t.Lost)} | {worker} | {rss} | {t.Cpu.Describe()} |");
        }

        if (r.Influx is { } i)
        {
            foreach (var run in i.Runs)
            {
                w.WriteLine($"| influx-ceiling, {run.Concurrency} writer{(run.Concurrency > 1 ? "s" : "")}, {i.BatchSize}-line batches | 1 | {N(run.PointsPerSecond)} points/s | - | {N(i.Points - run.Stored)} | - | - | {run.Cpu.Describe()} |");
            }
        }

        w.WriteLine();
        w.WriteLine("CPU cost per message (us of CPU per counted message, from /proc; contention inflates it) and the rate 2 idle cores would allow if CPU were the only limit:");
        w.WriteLine("| measurement | round | publisher | mosquitto | subscriber, worker or Node-RED | influxd | nginx | total | CPU-bound projection |");
        w.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var t in r.Throughput.OrderBy(t => t.Name, StringComparer.Ordinal).ThenBy(t => t.Round))
        {
            double Us(string process) => t.Counted > 0 ? t.Cpu.ProcessPercent.GetValueOrDefault(process) / 100 * t.Cpu.Seconds * 1e6 / t.Counted : 0;
            var parts = new[] { Us("publisher"), Us("mosquitto"), Us("subscriber") + Us("worker") + Us("nodered"), Us("influxd"), Us("nginx") };
            var total = parts.Sum();
            w.WriteLine($"| {t.Name} | {t.Round} | {string.Join(" | ", parts.Select(p => p.ToString("F0", CultureInfo.InvariantCulture)))} | {total:F0} | {(total > 0 ? N(r.Machine.Cores * 1e6 / total) : "-")} msg/s |");
        }

        w.WriteLine();
        var q1 = r.Median("pipeline-qos1");
        var q0 = r.Median("pipeline-qos0");
        var b1 = r.Median("broker-qos1");
        var b0 = r.Median("broker-qos0");
        var rounds = r.Throughput.Count(t => t.Name == "pipeline-qos1");
        w.WriteLine($"MEDIANS over {rounds} round(s): broker QoS 1 {N(b1)}, pipeline QoS 1 {N(q1)}, broker QoS 0 {N(b0)}, pipeline QoS 0 {N(q0)} msg/s; InfluxDB ceiling {N(influx)} points/s");
        if (q1 > 0)
        {
            w.WriteLine($"RATIO pipeline QoS 1 / broker QoS 1 ceiling = {r.MedianRatio("pipeline-qos1", "broker-qos1"):P0} (median of per-round ratios)");
            if (r.Find("broker-qos1-mosquitto_sub") is { } msub)
            {
                w.WriteLine($"RATIO pipeline QoS 1 / broker QoS 1 ceiling with mosquitto_sub as the subscriber = {BenchReport.Ratio(q1, msub.Rate)} ({N(q1)} / {N(msub.Rate)})");
            }

            w.WriteLine($"RATIO pipeline QoS 1 / InfluxDB ceiling = {BenchReport.Ratio(q1, influx)} ({N(q1)} / {N(influx)})");
            if (BenchTargets.FreeWorker(r) is { } bound)
            {
                // What the machine allows at all: publisher, mosquitto and influxd share the same cores as the worker.
                w.WriteLine($"RATIO pipeline QoS 1 / the rate {r.Machine.Cores} cores allow with a worker costing nothing = {BenchReport.Ratio(q1, bound.Rate)} ({N(q1)} / {N(bound.Rate)}; that bound is {bound.ShareOfMosquittoSub:P0} of mosquitto_sub)");
            }
        }

        if (q0 > 0)
        {
            w.WriteLine($"RATIO pipeline QoS 0 / broker QoS 0 ceiling = {r.MedianRatio("pipeline-qos0", "broker-qos0"):P0} (median of per-round ratios)");
            w.WriteLine($"RATIO pipeline QoS 0 / InfluxDB ceiling = {BenchReport.Ratio(q0, influx)} ({N(q0)} / {N(influx)})");
        }

        foreach (var shared in r.Throughput.Where(t => t.Name.Contains("shared", StringComparison.Ordinal)))
        {
            w.WriteLine($"SHARED subscription, {shared.Worker?.Instances} workers: {N(shared.Rate)} msg/s = {BenchReport.Ratio(shared.Rate, q1)} of one worker (median)");
        }

        WritePartitionedSummary(w, r);
        PeerNodeRed.WriteSummary(w, r);

        foreach (var l in r.Latency)
        {
            w.WriteLine($"LATENCY{(l.Name.Contains('[', StringComparison.Ordinal) ? " " + l.Name[l.Name.IndexOf('[', StringComparison.Ordinal)..] : "")} at {N(l.TargetRate)} msg/s (published {N(l.PublishedRate)}): device ts -> stored p50 {l.P50Ms:F0} ms, p90 {l.P90Ms:F0} ms, p99 {l.P99Ms:F0} ms, p99.9 {l.P999Ms:F0} ms, max {l.MaxMs:F0} ms over {N(l.Measured)} points; publisher lateness p99 {l.PublisherLatenessP99Ms:F1} ms; worker {l.Worker.CpuPercent:F0}% CPU = {l.Worker.CpuMicrosecondsPerMessage:F0} us/msg, peak RSS {l.Worker.PeakRssKb / 1024.0:F0} MB");
        }

        // Load-robust figures: kernel events per message of the worker (perf stat), for before/after on a shared machine.
        foreach (var (phase, worker) in r.Throughput.Where(t => t.Worker?.KernelPerMessage is not null).Select(t => (t.Name, t.Worker!))
                     .Concat(r.Latency.Where(l => l.Worker.KernelPerMessage is not null).Select(l => (l.Name, l.Worker))))
        {
            w.WriteLine($"KERNEL {phase}: worker {KernelCounts.Describe(worker.KernelPerMessage)}");
        }

        foreach (var m in r.Memory)
        {
            w.WriteLine($"MEMORY{(m.Name.Contains('[', StringComparison.Ordinal) ? " " + m.Name[m.Name.IndexOf('[', StringComparison.Ordinal)..] : "")} {N(m.Devices)} devices: worker peak RSS (VmHWM) {m.PeakRssKb / 1024.0:F0} MB (idle after start {m.IdleRssKb / 1024.0:F0} MB; at the end {m.RssAnonAfterKb / 1024.0:F0} MB anonymous + {m.RssFileAfterKb / 1024.0:F0} MB file-backed); received {N(m.Received)} messages in {m.SimulatorSeconds:F0} s, stored {N(m.PointsWritten)} points + {N(m.DeadLetters)} dead letters; {(m.StreetLightDevicesStored is { } lamps ? N(lamps) : "unknown (query failed)")} street lights with stored telemetry");
        }

        if (r.Latency.Count > 0)
        {
            // One row per paced rate (--latency-rates): where p99 <= 500 ms holds on this machine.
            w.WriteLine();
            w.WriteLine("LATENCY by rate (device ts -> stored, QoS 1, one worker):");
            w.WriteLine("| run | target msg/s | published msg/s | p50 ms | p99 ms | max ms | points measured | p99 <= 500 ms | machine CPU | worker CPU |");
            w.WriteLine("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|");
            foreach (var l in r.Latency)
            {
                w.WriteLine($"| {l.Name} | {N(l.TargetRate)} | {N(l.PublishedRate)} | {l.P50Ms:F0} | {l.P99Ms:F0} | {l.MaxMs:F0} | {N(l.Measured)} of {N(l.Messages)} | {(l.P99Ms <= 500 ? "yes" : "no")} | {l.Cpu.MachineBusyPercent:F0}% of {l.Cpu.CapacityPercent}% | {l.Worker.CpuPercent:F0}% |");
            }
        }

        foreach (var il in r.InfluxLatency)
        {
            w.WriteLine($"INFLUX-LATENCY at {N(il.TargetRate)} points/s (posted {N(il.PostedRate)}): the worker's lines posted directly, {il.LinesPerBatch:N0} per batch every {il.IntervalMs} ms; write (request -> 2xx) p50 {il.P50Ms:F0} ms, p99 {il.P99Ms:F0} ms, max {il.MaxMs:F0} ms over {il.Batches} writes; {il.LateBatchesPercent:F0}% of batches posted late; stored {N(il.Stored)} of {N(il.Points)}; cpu: {il.Cpu.Describe()}");
        }

        w.WriteLine();
        w.WriteLine("TARGETS (issue 25, each from this run's own figures)");
        foreach (var verdict in BenchTargets.Judge(r))
        {
            w.WriteLine(verdict.ToString());
        }

        if (PeerNodeRed.Verdict(r) is { } peer)
        {
            w.WriteLine(peer);
        }

        if (r.Failures.Count > 0)
        {
            w.WriteLine();
            w.WriteLine("FAILURES (reported, the run went on):");
            foreach (var f in r.Failures)
            {
                w.WriteLine($"  {f}");
            }
        }

        if (r.Profile is not null)
        {
            w.WriteLine();
            w.WriteLine(r.Profile);
        }

        return w.ToString();
    }
}

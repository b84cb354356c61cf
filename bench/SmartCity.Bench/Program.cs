using System.CommandLine;
using SmartCity.Bench.Infrastructure;
using SmartCity.Bench.Load;
using SmartCity.CommandLine;

namespace SmartCity.Bench;

/// <summary>
/// SmartCity benchmarks (not tests). Run through bench/run.sh, which starts the servers.
///   SmartCity.Bench e2e [options]      the end-to-end benchmark (default)
///   SmartCity.Bench publish [options]  the load generator, one process per run (used by e2e)
///   SmartCity.Bench null-sub [options] the do-nothing subscriber of the broker ceiling (used by e2e)
///   SmartCity.Bench alert-saves [--devices N] [--transitions N] [--modes old,debounced] [--delay-ms MS]
///                                      cost of saving the alert state in a burst of transitions (no servers)
/// </summary>
public static class Program
{
    /// <summary>EX_USAGE (sysexits.h), the benchmark's code for bad options since its first version.</summary>
    public const int UsageExitCode = 64;

    public static async Task<int> Main(string[] args)
    {
        try
        {
            return await RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
        }
        catch (ArgumentException ex)
        {
            // A value the options refuse (e.g. --latency-rates 0), found when the run reads it.
            await Console.Error.WriteLineAsync($"SmartCity.Bench: {ex.Message} (options: SmartCity.Bench --help)").ConfigureAwait(false);
            return UsageExitCode;
        }
    }

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        Cli.InvokeAsync(Parse(args), stdout, stderr, UsageExitCode, CancellationToken.None);

    /// <summary>"help" is the old spelling of --help; without a command, the options are e2e's.</summary>
    public static ParseResult Parse(IReadOnlyList<string> args) =>
        Cli.Parse(BuildCommand(string.Join(' ', args)), args is ["help"] ? ["--help"] : args);

    public static Command BuildCommand(string commandLine)
    {
        var root = Cli.Root("SmartCity.Bench", "SmartCity benchmarks (not tests). Run through bench/run.sh, which starts the servers. Without a command: e2e.");
        var e2e = new Command("e2e", "The end-to-end benchmark (servers from servers.env: use bench/run.sh).");
        var publish = new Command("publish", "The load generator, one process per run (used by e2e).");
        var nullSub = new Command("null-sub", "The do-nothing subscriber of the broker ceiling (used by e2e).");
        var alertSaves = new Command("alert-saves", "Bytes and time of saving the alert state in a burst of transitions (no servers).");
        Bind(root, E2eOptions(), a => E2eBenchmark.RunAsync(a, "SmartCity.Bench " + commandLine));
        Bind(e2e, E2eOptions(), a => E2eBenchmark.RunAsync(a, "SmartCity.Bench " + commandLine));
        Bind(publish, PublishOptions(), Publisher.RunAsync);
        Bind(nullSub, NullSubscriberOptions(), NullSubscriber.RunAsync);
        Bind(alertSaves, AlertSavesOptions(), Phases.AlertStateSaves.RunAsync);
        root.Subcommands.Add(e2e);
        root.Subcommands.Add(publish);
        root.Subcommands.Add(nullSub);
        root.Subcommands.Add(alertSaves);
        return root;
    }

    /// <summary>The command's options, and an action that hands them to the benchmark code as <see cref="Args"/>.</summary>
    private static void Bind(Command command, Option[] options, Func<Args, Task<int>> run)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }

        command.SetAction(parse => run(Args.From(parse, options)));
    }

    private static Option<string> Value(string name, string description) => new Option<string>(name) { Description = description, HelpName = "VALUE" };

    private static Option<bool> Flag(string name, string description) => new Option<bool>(name) { Description = description };

    private static Option[] AlertSavesOptions() =>
    [
        Value("--devices", "devices in the alert engine (default 100000)"),
        Value("--transitions", "transitions in the burst (default 10000)"),
        Value("--modes", "old,debounced: save on every transition, or debounced (default both)"),
        Value("--delay-ms", "the debounce delay, Alerting:StateSaveDelay (default 1000)"),
    ];

    private static Option[] E2eOptions() =>
    [
        Value("--messages", "measured messages per throughput phase (default 120000)"),
        Value("--warmup", "warm-up messages before each phase, not measured (default 80000; less leaves the worker's JIT tiering busy in the measured window)"),
        Value("--lamps", "street lights in the load fleet = InfluxDB series (default 10000)"),
        Value("--districts", "districts of the load fleet (default 4)"),
        Value("--connections", "publisher MQTT connections (default 4)"),
        Value("--in-flight", "QoS 1 publishes awaiting PUBACK per connection (default 100)"),
        Value("--latency-seconds", "length of each paced latency run (default 20)"),
        Value("--latency-rate", "the target's rate, measured besides half the sustained rate (default 5000)"),
        Value("--latency-rates", "e.g. 2000,3000,4000,5000: the latency phase at exactly these rates, one table row each (p50/p99/max, machine CPU); influx-latency at each too"),
        Value("--shared-workers", "workers on one shared subscription in the \"shared\" phase (default 2)"),
        Value("--memory-messages", "--max-messages of the 100,000-device simulator run (default 300000: 100,000 births, then telemetry of about 10 minutes of device time)"),
        Value("--memory-seconds", "--max-seconds of that run, a safety bound (default 120)"),
        Value("--scenario", "scenario of the memory phase (default simulators/scenarios/load-100k.json)"),
        Value("--phases", "broker,influx,pipeline,latency,influx-latency,shared,memory (default all); influx-latency: the worker's lines posted directly, paced at the latency rate in 200 ms batches: InfluxDB's own write latency p50/p99/max; partitions (not in the default): the same load through 1, 2 and 3 workers partitioned by district with a partition map (use --districts 12); peer-nodered (not in the default; needs npm once): Node-RED 4.1.8 with a batching flow in the worker's place, after pipeline-qos1 in each round"),
        Value("--rounds", "rounds of broker/pipeline pairs, interleaved; medians reported (default 2)"),
        Value("--quiet-wait", "wait up to S s for an idle machine before each measured window (default 10)"),
        Value("--variants", "name:ENV=V,ENV=V;name2:... the worker with other environment variables, measured again in the pipeline, latency and memory phases selected; BENCH_WORKER_DLL=PATH runs another build of the worker (before/after); BENCH_WARMUP_DAYS_BACK=N stamps the warm-up N days back, as before session 11; DOTNET_JitStdOutFile=PATH,DOTNET_JitDisasmSummary=1 lists what the JIT compiled in each window"),
        Flag("--profile", "perf-record the worker for 8 s during the last pipeline-qos1"),
        Value("--warmup-runs", "pipeline phases repeat their --warmup run until one leaves the worker's JIT under 50 ms, at most this often (default 4); the Node-RED peer gets as many"),
        Value("--latency-warmup-seconds", "the latency phase then warms up at its own pace, in 5 s runs until one leaves the JIT under 50 ms, at most this long (default 30; 0: none)"),
        Flag("--profile-latency", "perf-record the worker for 8 s during the first paced latency phase (BENCH_PERF_EVENT applies too)"),
        Value("--json", "write the results as JSON (default WORK_DIR/e2e.json)"),
        Value("--work-dir", "spool folders and logs (default a new folder under /tmp)"),
        Flag("--existing-servers", "the servers are shared (the test suite's): never restart the broker between phases, and publish under a topic root of this run's own"),
    ];

    private static Option[] PublishOptions() =>
    [
        Value("--host", "broker host (default 127.0.0.1)"),
        Value("--port", "broker port (default 1883)"),
        Value("--connections", "MQTT connections (default 4)"),
        Value("--in-flight", "QoS 1 publishes awaiting PUBACK per connection (default 100)"),
        Value("--qos", "0 or 1 (default 1)"),
        Value("--messages", "messages to publish (default 100000)"),
        Value("--lamps", "street lights in the fleet (default 10000)"),
        Value("--districts", "districts of the fleet (default 4)"),
        Value("--rate", "messages per second; 0 = load mode, as fast as possible (default 0)"),
        Value("--seed", "random seed (default 1)"),
        Value("--start-ms", "device time of the first message, unix ms (default 0: the fleet's own start)"),
        Value("--first", "load mode: publish messages K.. of the series that starts at --start-ms, after earlier runs' slices (default 0)"),
        Value("--client-id-prefix", "MQTT client ids are PREFIX-gw00.. (default bench-pub)"),
        Flag("--births", "publish each lamp's retained birth message first"),
        Value("--topic-root", "topic root (default city)"),
    ];

    private static Option[] NullSubscriberOptions() =>
    [
        Value("--host", "broker host (default 127.0.0.1)"),
        Value("--port", "broker port (default 1883)"),
        Value("--client-id", "MQTT client id (default bench-null-sub)"),
        Value("--filter", "topic filter (default city/#)"),
        Value("--warmup", "messages before the measured window (default 0)"),
        Value("--count", "measured messages (default 100000)"),
        Value("--receive-maximum", "MQTT 5 receive maximum (default 10000)"),
        Value("--idle-seconds", "stop when no message came for S seconds (default 5)"),
        Value("--max-seconds", "stop after S seconds in all (default 300)"),
    ];
}

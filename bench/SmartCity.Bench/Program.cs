using SmartCity.Bench.Infrastructure;
using SmartCity.Bench.Load;

namespace SmartCity.Bench;

/// <summary>
/// SmartCity benchmarks (not tests). Run through bench/run.sh, which starts the servers.
///   SmartCity.Bench e2e [options]      the end-to-end benchmark (default)
///   SmartCity.Bench publish [options]  the load generator, one process per run (used by e2e)
///   SmartCity.Bench null-sub [options] the do-nothing subscriber of the broker ceiling (used by e2e)
/// </summary>
public static class Program
{
    private const string Usage = """
        usage: SmartCity.Bench [e2e] [options]      (servers from servers.env: use bench/run.sh)
          --messages N          measured messages per throughput phase (default 120000)
          --warmup N            warm-up messages before each phase, not measured (default 80000;
                                less leaves the worker's JIT tiering busy in the measured window)
          --lamps N             street lights in the load fleet = InfluxDB series (default 10000)
          --connections N       publisher MQTT connections (default 4)
          --in-flight N         QoS 1 publishes awaiting PUBACK per connection (default 100)
          --latency-seconds S   length of each paced latency run (default 20)
          --latency-rate R      the target's rate, measured besides half the sustained rate (default 5000)
          --latency-rates LIST  e.g. 2000,3000,4000,5000: the latency phase at exactly these rates, one
                                table row each (p50/p99/max, machine CPU); influx-latency at each too
          --shared-workers N    workers on one shared subscription in the "shared" phase (default 2)
          --memory-messages N   --max-messages of the 100,000-device simulator run (default 300000:
                                100,000 births, then telemetry of about 10 minutes of device time)
          --memory-seconds S    --max-seconds of that run, a safety bound (default 120)
          --scenario FILE       scenario of the memory phase (default simulators/scenarios/load-100k.json)
          --phases LIST         broker,influx,pipeline,latency,influx-latency,shared,memory (default all);
                                influx-latency: the worker's lines posted directly, paced at the latency
                                rate in 200 ms batches: InfluxDB's own write latency p50/p99/max
          --rounds N            rounds of broker/pipeline pairs, interleaved; medians reported (default 2)
          --quiet-wait S        wait up to S s for an idle machine before each measured window (default 10)
          --variants LIST       name:ENV=V,ENV=V;name2:... the worker with other environment variables,
                                measured again in the pipeline, latency and memory phases selected;
                                BENCH_WORKER_DLL=PATH runs another build of the worker (before/after)
          --profile             perf-record the worker for 8 s during the last pipeline-qos1
          --json FILE           write the results as JSON (default WORK_DIR/e2e.json)
          --work-dir DIR        spool folders and logs (default a new folder under /tmp)
          --existing-servers    the servers are shared (the test suite's): never restart the broker
                                between phases, and publish under a topic root of this run's own
        """;

    public static async Task<int> Main(string[] args)
    {
        var command = args.Length > 0 && !args[0].StartsWith("--", StringComparison.Ordinal) ? args[0] : "e2e";
        var rest = command == "e2e" && (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal)) ? args : args[1..];
        try
        {
            return command switch
            {
                "e2e" => await E2eBenchmark.RunAsync(new Args(rest), "SmartCity.Bench " + string.Join(' ', args)),
                "publish" => await Publisher.RunAsync(new Args(rest)),
                "null-sub" => await NullSubscriber.RunAsync(new Args(rest)),
                "-h" or "--help" or "help" => Help(0),
                _ => Help(64),
            };
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"SmartCity.Bench: {ex.Message}\n{Usage}");
            return 64;
        }
    }

    private static int Help(int code)
    {
        (code == 0 ? Console.Out : Console.Error).WriteLine(Usage);
        return code;
    }
}

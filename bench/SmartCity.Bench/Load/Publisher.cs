using System.Globalization;
using System.Text.Json;
using MQTTnet.Protocol;
using SmartCity.Bench.Infrastructure;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Bench.Load;

/// <summary>
/// <c>SmartCity.Bench publish</c>: the load of every phase, in its own process. The simulator's
/// street-light fleet makes the messages (topics and payloads of the device contract) and the
/// simulator's gateway transport publishes them: <c>--connections</c> MQTT connections, each with
/// <c>--in-flight</c> QoS 1 publishes awaiting PUBACK, a lamp always on the same connection (so a
/// device's messages stay in order).
/// Load mode (<c>--rate 0</c>): all messages are generated before the clock starts, so the
/// publisher spends its CPU on MQTT, not on JSON, and leaves the rest to the system under test.
/// Paced mode (<c>--rate R</c>): message k is due at start + k/R and carries that instant as its
/// device timestamp <c>ts</c>, so "ts to stored" is the pipeline's latency plus any lateness of
/// the publisher, which is measured and reported too.
/// <c>--first K</c> (load mode): messages K to K + --messages - 1 of the series starting at <c>--start-ms</c>, so
/// a phase's warm-up and measured runs are consecutive slices of one series (<see cref="DeviceTimeline"/>).
/// Prints <c>START unix-ms</c> when the first message goes out, then <c>RESULT {json}</c>.
/// </summary>
public static class Publisher
{
    public sealed record Result(
        long Sent,
        long Acknowledged,
        long Failed,
        long StartMs,
        long EndMs,
        double Rate,
        double LatenessP50Ms,
        double LatenessP99Ms,
        double LatenessMaxMs);

    public static async Task<int> RunAsync(Args args)
    {
        var host = args.String("--host", "127.0.0.1");
        var port = args.Int("--port", 1883);
        var connections = args.Int("--connections", 4);
        var inFlight = args.Int("--in-flight", 100);
        var qos = args.Int("--qos", 1) == 0 ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce;
        var messages = args.Long("--messages", 100_000);
        var lamps = args.Int("--lamps", 10_000);
        var districts = args.Int("--districts", 4);
        var rate = args.Double("--rate", 0);
        var seed = args.Int("--seed", 1);
        var startMs = args.Long("--start-ms", 0);
        var first = args.Long("--first", 0);
        var prefix = args.String("--client-id-prefix", "bench-pub");
        var births = args.Flag("--births");
        var root = args.String("--topic-root", "city");
        args.EnsureAllRead();
        if (first < 0 || (first > 0 && rate > 0))
        {
            // A paced series is stamped from the moment it starts (the latency phases): there is no slice to pick.
            throw new ArgumentException("--first: a message index >= 0, for load mode (--rate 0) only");
        }

        var counters = new RunCounters();
        var (user, password) = BenchEnvironment.BrokerAccount();
        var broker = new BrokerEndpoint(host, port, user, password);
        await using var transport = new GatewayTransport(broker, prefix, connections, inFlight, qos, counters);
        await transport.StartAsync(CancellationToken.None);

        StreetLightFleet fleet;
        ScenarioMessage[]? prepared = null;
        if (rate <= 0)
        {
            var options = new LightingSimulationOptions
            {
                Broker = broker,
                Lamps = lamps,
                Districts = districts,
                Messages = messages,
                Rate = 0,
                Seed = seed,
                TopicRoot = root,
                Start = startMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(startMs) : null,
                Interval = DeviceTimeline.Interval,
            };
            (fleet, prepared) = LoadSlice(options, first, DateTimeOffset.UtcNow);
        }
        else
        {
            // Interval = lamps / rate makes reading k of the fleet fall due at start + k / rate.
            var start = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 500);
            fleet = new StreetLightFleet(lamps, districts, root, seed, start, TimeSpan.FromTicks((long)(lamps * TimeSpan.TicksPerSecond / rate)));
        }

        if (births)
        {
            await AnnounceAsync(fleet, transport);
        }

        var lateness = rate > 0 ? new double[messages] : [];
        var topicCache = new string?[lamps];
        long firstMs;
        long sent = 0;
        if (rate > 0)
        {
            // Wait for the fleet's start: message 0 is due then.
            var wait = fleet.Start - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait);
            }
        }

        firstMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"START {firstMs}"));
        for (long k = 0; k < messages; k++)
        {
            ScenarioMessage message;
            if (prepared is not null)
            {
                message = prepared[k];
                prepared[k] = default; // let the GC have it once published
            }
            else
            {
                var simulated = fleet.Create(k);
                var now = DateTimeOffset.UtcNow;
                if (simulated.Timestamp > now)
                {
                    // Never early, never spinning: a spin to the exact microsecond burned 60-74 % of a core
                    // at 2,000-4,000 msg/s, CPU the measured pipeline then lacked. A message due in under
                    // a millisecond waits one timer tick (about 1 ms) and the ones due by then follow at once;
                    // that delay counts against us, since latency is measured from the due instant.
                    var due = simulated.Timestamp - now;
                    await Task.Delay(due > TimeSpan.FromMilliseconds(1) ? due : TimeSpan.FromMilliseconds(1));
                }

                message = ToScenario(simulated, (int)(k % lamps), topicCache);
            }

            await transport.SendAsync(message, CancellationToken.None);
            if (rate > 0)
            {
                lateness[k] = (DateTimeOffset.UtcNow - message.Timestamp).TotalMilliseconds;
            }

            sent++;
        }

        await transport.FlushAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
        var endMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var elapsed = Math.Max(1, endMs - firstMs) / 1000.0;
        Array.Sort(lateness);
        var result = new Result(
            sent,
            counters.Acknowledged - (births ? fleet.Lamps.Count : 0),
            counters.Failed,
            firstMs,
            endMs,
            Math.Round(counters.Acknowledged / elapsed),
            Percentile(lateness, 0.50),
            Percentile(lateness, 0.99),
            lateness.Length > 0 ? Math.Round(lateness[^1], 1) : 0);
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(result));
        await Lingering.WaitForReleaseAsync();
        return counters.Failed == 0 && result.Acknowledged == sent ? 0 : 1;
    }

    /// <summary>
    /// Every lamp's retained birth message (docs/device-contract.md, "Status"), all acknowledged
    /// before the clock starts: a worker with a device registry stores telemetry only from devices
    /// that announced themselves.
    /// </summary>
    private static async Task AnnounceAsync(StreetLightFleet fleet, GatewayTransport transport)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        for (var i = 0; i < fleet.Lamps.Count; i++)
        {
            var lamp = fleet.Lamps[i];
            var birth = fleet.Birth(lamp, now);
            await transport.SendAsync(new ScenarioMessage(birth.Topic, birth.Payload, lamp.DeviceId, now, now, i, DeviceType.StreetLight, MessageKind.Status, Retain: true, ConnectionAction.None, Fault: null), CancellationToken.None);
        }

        await transport.FlushAsync(new CancellationTokenSource(TimeSpan.FromSeconds(60)).Token);
    }

    /// <summary>
    /// Load mode's messages, all made before the clock starts: messages <paramref name="first"/> to first + Messages - 1
    /// of the series of <paramref name="options"/>' fleet (its Start, or one ending at <paramref name="now"/>).
    /// </summary>
    public static (StreetLightFleet Fleet, ScenarioMessage[] Messages) LoadSlice(LightingSimulationOptions options, long first, DateTimeOffset now)
    {
        var fleet = LightingSimulation.CreateFleet(options, now);
        var topics = new string?[options.Lamps];
        var prepared = new ScenarioMessage[options.Messages];
        for (long k = 0; k < options.Messages; k++)
        {
            prepared[k] = ToScenario(fleet.Create(first + k), (int)((first + k) % options.Lamps), topics);
        }

        return (fleet, prepared);
    }

    private static ScenarioMessage ToScenario(SimulatedMessage m, int lamp, string?[] topics)
    {
        // One topic string per lamp, not one per message.
        var topic = topics[lamp] ??= m.Topic;
        return new ScenarioMessage(topic, m.Payload, m.DeviceId, m.Timestamp, m.Timestamp, lamp, DeviceType.StreetLight, MessageKind.Telemetry, Retain: false, ConnectionAction.None, Fault: null);
    }

    internal static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? 0 : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);
}

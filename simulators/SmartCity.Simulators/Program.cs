using System.Globalization;
using MQTTnet.Protocol;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Simulators;

/// <summary>
/// smartcity-sim: simulated field devices over real MQTT.
///   smartcity-sim scenario simulators/scenarios/demo-city.json --host 127.0.0.1 --port 1883 [--accelerate 720] [--load] [--seed N]
///   smartcity-sim lighting --host 127.0.0.1 --port 1883 --lamps 200 --rate 50 [--messages N] [--duration S]
/// </summary>
public static class Program
{
    private const string Usage = """
        usage: smartcity-sim scenario FILE [options]   (a whole city; `smartcity-sim scenario --help`)
               smartcity-sim lighting [options]        (street-light telemetry only, as below)
          --host H            broker host (default 127.0.0.1)
          --port P            broker port (default 1883)
          --username U        broker user (devices authenticate when the broker asks)
          --password P
          --lamps N           street-light controllers (default 200)
          --districts N       districts the lamps are spread over (default 4)
          --rate R            messages per second over the fleet; 0 = as fast as possible (default 50)
          --messages N        stop after N messages; 0 = no limit (default 0)
          --duration S        stop after S seconds; 0 = no limit (default 0)
          --seed N            random seed; the same seed gives the same messages (default 1)
          --start ISO8601     device time of the first reading (default: so the last one is now)
          --interval S        seconds between two readings of one lamp (default lamps/rate)
          --qos 0|1           MQTT QoS (default 1)
          --in-flight N       QoS 1 publishes awaiting PUBACK at once (default 20)
          --topic-root T      topic root (default city)
          --client-id ID      MQTT client id (default smartcity-sim-lighting)
        """;

    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "scenario")
        {
            if (args.Length > 1 && args[1] is "-h" or "--help")
            {
                await Console.Out.WriteLineAsync(ScenarioCommand.Usage).ConfigureAwait(false);
                return 0;
            }

            using var stop = new CancellationTokenSource();
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            return await ScenarioCommand.RunAsync(args[1..], Console.Out, Console.Error, stop.Token).ConfigureAwait(false);
        }

        if (args.Length == 0 || args[0] is "-h" or "--help" || args[0] != "lighting")
        {
            await Console.Error.WriteLineAsync(Usage).ConfigureAwait(false);
            return args.Length > 0 && args[0] is "-h" or "--help" ? 0 : 64;
        }

        LightingSimulationOptions options;
        try
        {
            options = Parse(args.AsSpan(1));
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException)
        {
            await Console.Error.WriteLineAsync($"smartcity-sim: {ex.Message}\n{Usage}").ConfigureAwait(false);
            return 64;
        }

        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };

        var progress = new Progress<SimulationStats>(s =>
            Console.Error.WriteLine($"[sim] {s.Published:N0} sent, {s.Failed:N0} failed, {s.Rate:N0} msg/s average over {s.Elapsed.TotalSeconds:N0} s"));
        try
        {
            var stats = await LightingSimulation.RunAsync(options, progress, cts.Token).ConfigureAwait(false);
            Console.WriteLine($"published={stats.Published} failed={stats.Failed} seconds={stats.Elapsed.TotalSeconds:F2} rate={stats.Rate:F0}");
            return stats.Failed == 0 ? 0 : 1;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Net.Sockets.SocketException or MQTTnet.Exceptions.MqttCommunicationException)
        {
            await Console.Error.WriteLineAsync($"smartcity-sim: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    internal static LightingSimulationOptions Parse(ReadOnlySpan<string> args)
    {
        string host = "127.0.0.1";
        var port = 1883;
        string? user = null, password = null;
        var o = new LightingSimulationOptions { Broker = new BrokerEndpoint(host, port) };
        for (var i = 0; i < args.Length; i++)
        {
            var flag = args[i];
            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{flag} needs a value");
            }

            var value = args[++i];
            var inv = CultureInfo.InvariantCulture;
            o = flag switch
            {
                "--host" => o with { Broker = o.Broker with { Host = host = value } },
                "--port" => o with { Broker = o.Broker with { Port = port = int.Parse(value, inv) } },
                "--username" => o with { Broker = o.Broker with { Username = user = value } },
                "--password" => o with { Broker = o.Broker with { Password = password = value } },
                "--lamps" => o with { Lamps = Positive(int.Parse(value, inv), flag) },
                "--districts" => o with { Districts = Positive(int.Parse(value, inv), flag) },
                "--rate" => o with { Rate = NonNegative(double.Parse(value, inv), flag) },
                "--messages" => o with { Messages = (long)NonNegative(long.Parse(value, inv), flag) },
                "--duration" => o with { Duration = TimeSpan.FromSeconds(NonNegative(double.Parse(value, inv), flag)) },
                "--seed" => o with { Seed = int.Parse(value, inv) },
                "--start" => o with { Start = DateTimeOffset.Parse(value, inv, DateTimeStyles.AssumeUniversal) },
                "--interval" => o with { Interval = TimeSpan.FromSeconds(Positive(double.Parse(value, inv), flag)) },
                "--qos" => o with { Qos = value switch { "0" => MqttQualityOfServiceLevel.AtMostOnce, "1" => MqttQualityOfServiceLevel.AtLeastOnce, _ => throw new ArgumentException("--qos must be 0 or 1") } },
                "--in-flight" => o with { InFlight = Positive(int.Parse(value, inv), flag) },
                "--topic-root" => o with { TopicRoot = value },
                "--client-id" => o with { ClientId = value },
                _ => throw new ArgumentException($"unknown option {flag}"),
            };
        }

        return o;
    }

    private static T Positive<T>(T value, string flag) where T : System.Numerics.INumber<T> =>
        value > T.Zero ? value : throw new ArgumentException($"{flag} must be greater than 0");

    private static T NonNegative<T>(T value, string flag) where T : System.Numerics.INumber<T> =>
        value >= T.Zero ? value : throw new ArgumentException($"{flag} must not be negative");
}

using System.Globalization;
using MQTTnet.Protocol;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Publishing;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators;

/// <summary><c>smartcity-sim scenario FILE [options]</c>: plays a scenario file against a broker.</summary>
public static class ScenarioCommand
{
    public const string Usage = """
        usage: smartcity-sim scenario FILE [options]
          --host H              broker host (default 127.0.0.1)
          --port P              broker port (default 1883)
          --username U          broker user; env SMARTCITY_SIM_MQTT_USERNAME
          --password P          broker password; env SMARTCITY_SIM_MQTT_PASSWORD (keeps it out of `ps`)
          --connections MODE    gateway (default: --gateways shared connections) or device (one
                                connection per device, username = device id, real last will; <= 2000 devices)
          --gateways N          connections in gateway mode (default 4)
          --in-flight N         QoS 1 publishes awaiting PUBACK per connection (default 200)
          --qos 0|1             MQTT QoS (default 1)
          --seed N              override the scenario's seed (same seed = same messages)
          --accelerate X        simulated seconds per wall-clock second (720 = a day in 2 minutes)
          --load                as fast as possible: ignore pacing (load mode)
          --live                after the scenario's duration keep going: catch up to now, then real time
          --start T             auto (default: the run ends before now) or an RFC 3339 timestamp
          --duration D          simulated duration, e.g. 1.00:00:00, 02:00, PT2H
          --topic-root T        override the topic root
          --client-id-prefix P  MQTT client ids are P-gw00.. or P-{deviceId} (default smartcity-sim)
          --max-messages N      stop after N messages
          --max-seconds S       stop after S wall-clock seconds
          --dry-run             write the stream to stdout as JSON lines instead of publishing
          --plan                print the resolved schedule (start, faults, expected alerts) and exit
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        Scenario scenario;
        ScenarioRunOptions options;
        bool dryRun, plan;
        try
        {
            (scenario, options, dryRun, plan) = Parse(args);
        }
        catch (ScenarioException ex)
        {
            await stderr.WriteLineAsync($"smartcity-sim: {ex.Message}").ConfigureAwait(false);
            return 65;
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or OverflowException or IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            await stderr.WriteLineAsync($"smartcity-sim: {ex.Message}\n{Usage}").ConfigureAwait(false);
            return 64;
        }

        var time = TimeProvider.System;
        var start = scenario.ResolveStart(time.GetUtcNow());
        if (plan)
        {
            await stdout.WriteAsync(Plan(scenario, start)).ConfigureAwait(false);
            return 0;
        }

        if (options.Connections == ConnectionMode.Device && scenario.TotalDevices > DeviceConnectionsTransport.MaxDevices)
        {
            await stderr.WriteLineAsync($"smartcity-sim: --connections device is for at most {DeviceConnectionsTransport.MaxDevices} devices; this scenario has {scenario.TotalDevices:N0} (use gateway mode)").ConfigureAwait(false);
            return 64;
        }

        var counters = new RunCounters();
        await using IScenarioTransport transport = dryRun
            ? new JsonLinesTransport(stdout, counters)
            : options.Connections == ConnectionMode.Device
                ? new DeviceConnectionsTransport(options.Broker, options.ClientIdPrefix, Math.Min(options.InFlight, 16), options.Qos, counters)
                : new GatewayTransport(options.Broker, options.ClientIdPrefix, options.Gateways, options.InFlight, options.Qos, counters);

        await stderr.WriteLineAsync(
            $"[sim] {scenario.Name}: {scenario.TotalDevices:N0} devices in {scenario.Districts.Count} districts, seed {scenario.Seed}, "
            + $"device time {start:yyyy-MM-dd HH:mm}Z + {scenario.Duration}{(options.Live ? " then live" : "")}, "
            + (options.Load ? "load mode (as fast as possible)" : $"x{scenario.Acceleration:N0}")
            + (dryRun ? ", dry run" : $", {options.Connections.ToString().ToLowerInvariant()} connections to {options.Broker.Host}:{options.Broker.Port}")).ConfigureAwait(false);

        var interactive = !Console.IsErrorRedirected && !dryRun;
        var printed = 0;
        var progress = new SyncProgress(p =>
        {
            // On a terminal one line is rewritten every second; in a log, one line every 10 s.
            if (interactive)
            {
                stderr.Write($"\r{Line(p, counters)}   ");
            }
            else if (printed++ % 10 == 9)
            {
                stderr.WriteLine(Line(p, counters));
            }
        });

        try
        {
            var result = await ScenarioRunner.RunAsync(scenario, options, transport, counters, time, progress, cancellationToken).ConfigureAwait(false);
            if (interactive)
            {
                await stderr.WriteLineAsync().ConfigureAwait(false);
            }

            await stderr.WriteLineAsync(
                $"[sim] done: {result.Acknowledged:N0} acknowledged of {result.Sent:N0} sent ({counters.Events:N0} events, {counters.Status:N0} status, {result.Malformed:N0} malformed on purpose), "
                + $"{result.Failed:N0} failed, {result.Elapsed.TotalSeconds:F1} s, {result.AverageRate:N0} msg/s"
                + (counters.LastError is null ? "" : $"; last error: {counters.LastError}")).ConfigureAwait(false);
            if (!dryRun)
            {
                await stdout.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"published={result.Acknowledged} sent={result.Sent} failed={result.Failed} seconds={result.Elapsed.TotalSeconds:F2} rate={result.AverageRate:F0}")).ConfigureAwait(false);
            }

            return result.Failed == 0 && result.Acknowledged == result.Sent ? 0 : 1;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Net.Sockets.SocketException or MQTTnet.Exceptions.MqttCommunicationException)
        {
            await stderr.WriteLineAsync($"\nsmartcity-sim: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static string Line(ScenarioProgress p, RunCounters c) => string.Create(
        CultureInfo.InvariantCulture,
        $"[sim] {p.Elapsed:hh\\:mm\\:ss} | device time {p.SimTime:yyyy-MM-dd HH:mm} | {p.Acknowledged:N0} acked of {p.Sent:N0} sent | {p.CurrentRate:N0} msg/s now, {p.AverageRate:N0} avg | {p.Failed:N0} errors | {p.Malformed:N0} malformed");

    public static (Scenario Scenario, ScenarioRunOptions Options, bool DryRun, bool Plan) Parse(ReadOnlySpan<string> args)
    {
        if (args.Length == 0 || args[0].StartsWith("--", StringComparison.Ordinal))
        {
            throw new ArgumentException("scenario needs a FILE (see simulators/scenarios/)");
        }

        var scenario = Scenario.Load(args[0]);
        var options = new ScenarioRunOptions
        {
            Broker = new BrokerEndpoint("127.0.0.1", 1883, Environment.GetEnvironmentVariable("SMARTCITY_SIM_MQTT_USERNAME"), Environment.GetEnvironmentVariable("SMARTCITY_SIM_MQTT_PASSWORD")),
        };
        bool dryRun = false, plan = false;
        var inv = CultureInfo.InvariantCulture;
        for (var i = 1; i < args.Length; i++)
        {
            var flag = args[i];
            switch (flag)
            {
                case "--load": options = options with { Load = true }; continue;
                case "--live": options = options with { Live = true }; continue;
                case "--dry-run": dryRun = true; continue;
                case "--plan": plan = true; continue;
            }

            if (i + 1 >= args.Length)
            {
                throw new ArgumentException($"{flag} needs a value");
            }

            var value = args[++i];
            switch (flag)
            {
                case "--host": options = options with { Broker = options.Broker with { Host = value } }; break;
                case "--port": options = options with { Broker = options.Broker with { Port = int.Parse(value, inv) } }; break;
                case "--username": options = options with { Broker = options.Broker with { Username = value } }; break;
                case "--password": options = options with { Broker = options.Broker with { Password = value } }; break;
                case "--connections":
                    options = options with { Connections = value switch { "gateway" => ConnectionMode.Gateway, "device" => ConnectionMode.Device, _ => throw new ArgumentException("--connections must be gateway or device") } };
                    break;
                case "--gateways": options = options with { Gateways = Positive(int.Parse(value, inv), flag) }; break;
                case "--in-flight": options = options with { InFlight = Positive(int.Parse(value, inv), flag) }; break;
                case "--qos":
                    options = options with { Qos = value switch { "0" => MqttQualityOfServiceLevel.AtMostOnce, "1" => MqttQualityOfServiceLevel.AtLeastOnce, _ => throw new ArgumentException("--qos must be 0 or 1") } };
                    break;
                case "--seed": scenario = scenario with { Seed = int.Parse(value, inv) }; break;
                case "--accelerate": scenario = scenario with { Acceleration = Positive(double.Parse(value, inv), flag) }; break;
                case "--start":
                    scenario = scenario with { Start = value == "auto" ? null : DateTimeOffset.Parse(value, inv, DateTimeStyles.AssumeUniversal).ToUniversalTime() };
                    break;
                case "--duration": scenario = scenario with { Duration = Positive(FlexibleTimeSpanConverter.Parse(value), flag) }; break;
                case "--topic-root": scenario = scenario with { TopicRoot = value }; break;
                case "--client-id-prefix": options = options with { ClientIdPrefix = value }; break;
                case "--max-messages": options = options with { MaxMessages = Positive(long.Parse(value, inv), flag) }; break;
                case "--max-seconds": options = options with { MaxDuration = TimeSpan.FromSeconds(Positive(double.Parse(value, inv), flag)) }; break;
                default: throw new ArgumentException($"unknown option {flag}");
            }
        }

        return (scenario, options, dryRun, plan);
    }

    public static string Plan(Scenario s, DateTimeOffset start)
    {
        var w = new StringWriter(CultureInfo.InvariantCulture);
        w.WriteLine($"scenario  {s.Name}: {s.Description}");
        w.WriteLine($"city      {s.CityName} ({s.Latitude}, {s.Longitude}, {s.TimeZone.Id}), districts {string.Join(" ", s.Districts)}");
        w.WriteLine($"devices   {string.Join(", ", s.Counts.Where(c => c.Value > 0).Select(c => $"{c.Key.Name()} {c.Value:N0}"))} = {s.TotalDevices:N0}");
        w.WriteLine($"time      {start:yyyy-MM-ddTHH:mm:ssZ} .. {start + s.Duration:yyyy-MM-ddTHH:mm:ssZ} device time, x{s.Acceleration} ({TimeSpan.FromTicks((long)(s.Duration.Ticks / s.Acceleration)):hh\\:mm\\:ss} wall clock), seed {s.Seed}");
        foreach (var f in s.Faults)
        {
            w.WriteLine($"fault     {f.Id,-6} {f.Kind.Name(),-18} {f.DeviceId,-13} {start + f.At:yyyy-MM-ddTHH:mm:ssZ} for {(f.Duration is { } d ? d.ToString() : "the rest of the run")}");
        }

        foreach (var a in s.ExpectedAlerts)
        {
            w.WriteLine($"alert     {a.Rule,-18} {a.Device,-13} {start + a.At:yyyy-MM-ddTHH:mm:ssZ} within {a.Within}{(a.Fault is null ? "" : $" (fault {a.Fault})")}");
        }

        return w.ToString();
    }

    private static T Positive<T>(T value, string flag) where T : IComparable<T> =>
        value.CompareTo(default) > 0 ? value : throw new ArgumentException($"{flag} must be greater than 0");

    /// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class SyncProgress(Action<ScenarioProgress> report) : IProgress<ScenarioProgress>
    {
        public void Report(ScenarioProgress value) => report(value);
    }
}

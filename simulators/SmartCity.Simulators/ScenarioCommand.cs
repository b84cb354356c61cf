using System.CommandLine;
using System.Globalization;
using MQTTnet.Protocol;
using SmartCity.CommandLine;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Publishing;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators;

/// <summary><c>smartcity-sim scenario FILE [options]</c>: plays a scenario file against a broker.</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1010", Justification = "System.CommandLine's Command is IEnumerable only for collection initializers.")]
public sealed class ScenarioCommand : Command
{
    private readonly Argument<string> _file = new Argument<string>("FILE") { Description = "scenario file (see simulators/scenarios/)" }.NoOptionLike();
    private readonly Option<string> _host = new("--host") { Description = "broker host (default 127.0.0.1)", HelpName = "H" };
    private readonly Option<int> _port = new("--port") { Description = "broker port (default 1883)", HelpName = "P" };
    private readonly Option<string> _username = new("--username") { Description = "broker user; env SMARTCITY_SIM_MQTT_USERNAME", HelpName = "U" };
    private readonly Option<string> _password = new("--password") { Description = "broker password; env SMARTCITY_SIM_MQTT_PASSWORD (keeps it out of `ps`)", HelpName = "P" };
    private readonly Option<string> _connections = new Option<string>("--connections")
    {
        Description = "gateway (default: --gateways shared connections) or device (one connection per device, username = device id, real last will; <= 2000 devices)",
        HelpName = "MODE",
    }.AcceptOnlyFromAmong("gateway", "device");
    private readonly Option<int> _gateways = new Option<int>("--gateways") { Description = "connections in gateway mode (default 4)", HelpName = "N" }.Positive();
    private readonly Option<int> _inFlight = new Option<int>("--in-flight") { Description = "QoS 1 publishes awaiting PUBACK per connection (default 200)", HelpName = "N" }.Positive();
    private readonly Option<string> _qos = new Option<string>("--qos") { Description = "MQTT QoS (default 1)", HelpName = "0|1" }.AcceptOnlyFromAmong("0", "1");
    private readonly Option<int> _seed = new("--seed") { Description = "override the scenario's seed (same seed = same messages)", HelpName = "N" };
    private readonly Option<double> _accelerate = new Option<double>("--accelerate") { Description = "simulated seconds per wall-clock second (720 = a day in 2 minutes)", HelpName = "X" }.Positive();
    private readonly Option<bool> _load = new("--load") { Description = "as fast as possible: ignore pacing (load mode)" };
    private readonly Option<bool> _live = new("--live") { Description = "after the scenario's duration keep going: catch up to now, then real time" };
    private readonly Option<DateTimeOffset?> _start = new("--start") { Description = "auto (default: the run ends before now) or an RFC 3339 timestamp", HelpName = "T", CustomParser = ParseStart };
    private readonly Option<TimeSpan> _duration = new("--duration") { Description = "simulated duration, e.g. 1.00:00:00, 02:00, PT2H", HelpName = "D", CustomParser = ParseDuration };
    private readonly Option<string> _topicRoot = new("--topic-root") { Description = "override the topic root", HelpName = "T" };
    private readonly Option<string> _clientIdPrefix = new("--client-id-prefix") { Description = "MQTT client ids are P-gw00.. or P-{deviceId} (default smartcity-sim)", HelpName = "P" };
    private readonly Option<long> _maxMessages = new Option<long>("--max-messages") { Description = "stop after N messages", HelpName = "N" }.Positive();
    private readonly Option<double> _maxSeconds = new Option<double>("--max-seconds") { Description = "stop after S wall-clock seconds", HelpName = "S" }.Positive();
    private readonly Option<bool> _dryRun = new("--dry-run") { Description = "write the stream to stdout as JSON lines instead of publishing" };
    private readonly Option<bool> _plan = new("--plan") { Description = "print the resolved schedule (start, faults, expected alerts) and exit" };

    public ScenarioCommand()
        : base("scenario", "A whole city from a scenario file.")
    {
        Arguments.Add(_file);
        Option[] options = [_host, _port, _username, _password, _connections, _gateways, _inFlight, _qos, _seed, _accelerate, _load, _live, _start, _duration, _topicRoot, _clientIdPrefix, _maxMessages, _maxSeconds, _dryRun, _plan];
        foreach (var option in options)
        {
            Options.Add(option);
        }

        SetAction(RunAsync);
    }

    /// <summary>The scenario (loaded from FILE, with the overrides) and the run options of a parsed <c>scenario</c> command line.</summary>
    /// <exception cref="ScenarioException">The file is not a valid scenario.</exception>
    public (Scenario Scenario, ScenarioRunOptions Options, bool DryRun, bool Plan) Bind(ParseResult parse)
    {
        var scenario = Scenario.Load(parse.GetRequiredValue(_file));
        var options = new ScenarioRunOptions
        {
            Broker = new BrokerEndpoint("127.0.0.1", 1883, Environment.GetEnvironmentVariable("SMARTCITY_SIM_MQTT_USERNAME"), Environment.GetEnvironmentVariable("SMARTCITY_SIM_MQTT_PASSWORD")),
        };
        if (parse.Given(_host)) options = options with { Broker = options.Broker with { Host = parse.GetRequiredValue(_host) } };
        if (parse.Given(_port)) options = options with { Broker = options.Broker with { Port = parse.GetValue(_port) } };
        if (parse.Given(_username)) options = options with { Broker = options.Broker with { Username = parse.GetValue(_username) } };
        if (parse.Given(_password)) options = options with { Broker = options.Broker with { Password = parse.GetValue(_password) } };
        if (parse.Given(_connections)) options = options with { Connections = parse.GetValue(_connections) == "device" ? ConnectionMode.Device : ConnectionMode.Gateway };
        if (parse.Given(_gateways)) options = options with { Gateways = parse.GetValue(_gateways) };
        if (parse.Given(_inFlight)) options = options with { InFlight = parse.GetValue(_inFlight) };
        if (parse.Given(_qos)) options = options with { Qos = parse.GetValue(_qos) == "0" ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce };
        if (parse.GetValue(_load)) options = options with { Load = true };
        if (parse.GetValue(_live)) options = options with { Live = true };
        if (parse.Given(_clientIdPrefix)) options = options with { ClientIdPrefix = parse.GetRequiredValue(_clientIdPrefix) };
        if (parse.Given(_maxMessages)) options = options with { MaxMessages = parse.GetValue(_maxMessages) };
        if (parse.Given(_maxSeconds)) options = options with { MaxDuration = TimeSpan.FromSeconds(parse.GetValue(_maxSeconds)) };
        if (parse.Given(_seed)) scenario = scenario with { Seed = parse.GetValue(_seed) };
        if (parse.Given(_accelerate)) scenario = scenario with { Acceleration = parse.GetValue(_accelerate) };
        if (parse.Given(_start)) scenario = scenario with { Start = parse.GetValue(_start) };
        if (parse.Given(_duration)) scenario = scenario with { Duration = parse.GetValue(_duration) };
        if (parse.Given(_topicRoot)) scenario = scenario with { TopicRoot = parse.GetRequiredValue(_topicRoot) };
        return (scenario, options, parse.GetValue(_dryRun), parse.GetValue(_plan));
    }

    private static DateTimeOffset? ParseStart(System.CommandLine.Parsing.ArgumentResult result) =>
        result.Tokens.Single().Value == "auto" ? null : Cli.ParseTime(result)?.ToUniversalTime();

    private static TimeSpan ParseDuration(System.CommandLine.Parsing.ArgumentResult result)
    {
        try
        {
            var duration = FlexibleTimeSpanConverter.Parse(result.Tokens.Single().Value);
            if (duration <= TimeSpan.Zero)
            {
                result.AddError("--duration must be greater than 0");
            }

            return duration;
        }
        catch (System.Text.Json.JsonException ex)
        {
            result.AddError($"--duration: {ex.Message}");
            return default;
        }
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var (stdout, stderr) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        Scenario scenario;
        ScenarioRunOptions options;
        bool dryRun, plan;
        try
        {
            (scenario, options, dryRun, plan) = Bind(parse);
        }
        catch (ScenarioException ex)
        {
            await stderr.WriteLineAsync($"smartcity-sim: {ex.Message}").ConfigureAwait(false);
            return 65;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Text.Json.JsonException)
        {
            await stderr.WriteLineAsync($"smartcity-sim: {ex.Message}").ConfigureAwait(false);
            return Program.UsageExitCode;
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
            return Program.UsageExitCode;
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

    /// <summary>IProgress that reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class SyncProgress(Action<ScenarioProgress> report) : IProgress<ScenarioProgress>
    {
        public void Report(ScenarioProgress value) => report(value);
    }
}

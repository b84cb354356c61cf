using System.CommandLine;
using MQTTnet.Protocol;
using SmartCity.CommandLine;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Simulators;

/// <summary><c>smartcity-sim lighting [options]</c>: street-light telemetry only (the first simulator).</summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1010", Justification = "System.CommandLine's Command is IEnumerable only for collection initializers.")]
public sealed class LightingCommand : Command
{
    // Defaults live in LightingSimulationOptions; an option not given leaves them as they are.
    private readonly Option<string> _host = new("--host") { Description = "broker host (default 127.0.0.1)", HelpName = "H" };
    private readonly Option<int> _port = new("--port") { Description = "broker port (default 1883)", HelpName = "P" };
    private readonly Option<string> _username = new("--username") { Description = "broker user (devices authenticate when the broker asks)", HelpName = "U" };
    private readonly Option<string> _password = new("--password") { Description = "broker password", HelpName = "P" };
    private readonly Option<int> _lamps = new Option<int>("--lamps") { Description = "street-light controllers (default 200)", HelpName = "N" }.Positive();
    private readonly Option<int> _districts = new Option<int>("--districts") { Description = "districts the lamps are spread over (default 4)", HelpName = "N" }.Positive();
    private readonly Option<double> _rate = new Option<double>("--rate") { Description = "messages per second over the fleet; 0 = as fast as possible (default 50)", HelpName = "R" }.NonNegative();
    private readonly Option<long> _messages = new Option<long>("--messages") { Description = "stop after N messages; 0 = no limit (default 0)", HelpName = "N" }.NonNegative();
    private readonly Option<double> _duration = new Option<double>("--duration") { Description = "stop after S seconds; 0 = no limit (default 0)", HelpName = "S" }.NonNegative();
    private readonly Option<int> _seed = new("--seed") { Description = "random seed; the same seed gives the same messages (default 1)", HelpName = "N" };
    private readonly Option<DateTimeOffset?> _start = new("--start") { Description = "device time of the first reading (default: so the last one is now)", HelpName = "ISO8601", CustomParser = Cli.ParseTime };
    private readonly Option<double> _interval = new Option<double>("--interval") { Description = "seconds between two readings of one lamp (default lamps/rate)", HelpName = "S" }.Positive();
    private readonly Option<string> _qos = new Option<string>("--qos") { Description = "MQTT QoS (default 1)", HelpName = "0|1" }.AcceptOnlyFromAmong("0", "1");
    private readonly Option<int> _inFlight = new Option<int>("--in-flight") { Description = "QoS 1 publishes awaiting PUBACK at once (default 20)", HelpName = "N" }.Positive();
    private readonly Option<string> _topicRoot = new("--topic-root") { Description = "topic root (default city)", HelpName = "T" };
    private readonly Option<string> _clientId = new("--client-id") { Description = "MQTT client id (default smartcity-sim-lighting)", HelpName = "ID" };
    private readonly Option<bool> _obey = new("--obey-commands") { Description = "lamps follow the worker's commands on their cmd topic and acknowledge them" };
    private readonly Option<double> _refuse = new Option<double>("--refuse-pct") { Description = "with --obey-commands: percent of lamps that refuse every command (default 0)", HelpName = "P" }.NonNegative();
    private readonly Option<double> _ignore = new Option<double>("--ignore-pct") { Description = "with --obey-commands: percent of lamps that ignore commands (default 0)", HelpName = "P" }.NonNegative();
    private readonly Option<double> _lagPct = new Option<double>("--lag-pct") { Description = "with --obey-commands: percent of lamps that follow late (default 0)", HelpName = "P" }.NonNegative();
    private readonly Option<double> _lag = new Option<double>("--lag") { Description = "seconds a lagging lamp waits before it follows (default 300)", HelpName = "S" }.Positive();

    public LightingCommand()
        : base("lighting", "Street-light telemetry only (scripts/run.sh, bench/).")
    {
        Option[] options = [_host, _port, _username, _password, _lamps, _districts, _rate, _messages, _duration, _seed, _start, _interval, _qos, _inFlight, _topicRoot, _clientId, _obey, _refuse, _ignore, _lagPct, _lag];
        foreach (var option in options)
        {
            Options.Add(option);
        }

        SetAction(RunAsync);
    }

    /// <summary>The simulation's options from a parsed <c>lighting</c> command line.</summary>
    public LightingSimulationOptions Bind(ParseResult parse)
    {
        var o = new LightingSimulationOptions { Broker = new BrokerEndpoint("127.0.0.1", 1883) };
        if (parse.Given(_host)) o = o with { Broker = o.Broker with { Host = parse.GetRequiredValue(_host) } };
        if (parse.Given(_port)) o = o with { Broker = o.Broker with { Port = parse.GetValue(_port) } };
        if (parse.Given(_username)) o = o with { Broker = o.Broker with { Username = parse.GetValue(_username) } };
        if (parse.Given(_password)) o = o with { Broker = o.Broker with { Password = parse.GetValue(_password) } };
        if (parse.Given(_lamps)) o = o with { Lamps = parse.GetValue(_lamps) };
        if (parse.Given(_districts)) o = o with { Districts = parse.GetValue(_districts) };
        if (parse.Given(_rate)) o = o with { Rate = parse.GetValue(_rate) };
        if (parse.Given(_messages)) o = o with { Messages = parse.GetValue(_messages) };
        if (parse.Given(_duration)) o = o with { Duration = TimeSpan.FromSeconds(parse.GetValue(_duration)) };
        if (parse.Given(_seed)) o = o with { Seed = parse.GetValue(_seed) };
        if (parse.Given(_start)) o = o with { Start = parse.GetValue(_start) };
        if (parse.Given(_interval)) o = o with { Interval = TimeSpan.FromSeconds(parse.GetValue(_interval)) };
        if (parse.Given(_qos)) o = o with { Qos = parse.GetValue(_qos) == "0" ? MqttQualityOfServiceLevel.AtMostOnce : MqttQualityOfServiceLevel.AtLeastOnce };
        if (parse.Given(_inFlight)) o = o with { InFlight = parse.GetValue(_inFlight) };
        if (parse.Given(_topicRoot)) o = o with { TopicRoot = parse.GetRequiredValue(_topicRoot) };
        if (parse.Given(_clientId)) o = o with { ClientId = parse.GetRequiredValue(_clientId) };
        if (parse.GetValue(_obey))
        {
            var commands = new LampCommandOptions();
            if (parse.Given(_refuse)) commands = commands with { RefusePercent = parse.GetValue(_refuse) };
            if (parse.Given(_ignore)) commands = commands with { IgnorePercent = parse.GetValue(_ignore) };
            if (parse.Given(_lagPct)) commands = commands with { LagPercent = parse.GetValue(_lagPct) };
            if (parse.Given(_lag)) commands = commands with { Lag = TimeSpan.FromSeconds(parse.GetValue(_lag)) };
            o = o with { Commands = commands };
        }

        return o;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var options = Bind(parse);
        var (stdout, stderr) = (parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        var progress = new Progress<SimulationStats>(s =>
            stderr.WriteLine($"[sim] {s.Published:N0} sent, {s.Failed:N0} failed, {s.Rate:N0} msg/s average over {s.Elapsed.TotalSeconds:N0} s"));
        try
        {
            var stats = await LightingSimulation.RunAsync(options, progress, cancellationToken).ConfigureAwait(false);
            await stdout.WriteLineAsync($"published={stats.Published} failed={stats.Failed} seconds={stats.Elapsed.TotalSeconds:F2} rate={stats.Rate:F0}").ConfigureAwait(false);
            return stats.Failed == 0 ? 0 : 1;
        }
        catch (OperationCanceledException)
        {
            return 0;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Net.Sockets.SocketException or MQTTnet.Exceptions.MqttCommunicationException)
        {
            await stderr.WriteLineAsync($"smartcity-sim: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }
}

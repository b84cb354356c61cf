using System.Diagnostics;
using MQTTnet.Protocol;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Scenarios;
using SmartCity.Tests.CommandLine;

namespace SmartCity.Simulators.Tests.CommandLine;

/// <summary>smartcity-sim's command line through its real entry point: help, version, errors, and the repository's own invocations.</summary>
public sealed class SimulatorCommandLineTests
{
    private static string ScenarioFile(string name) => Path.Combine(AppContext.BaseDirectory, "scenarios", name + ".json");

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Program.RunAsync(args, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static LightingSimulationOptions LightingOptions(params string[] args)
    {
        var parse = Program.Parse(args);
        Assert.Empty(parse.Errors);
        return ((LightingCommand)parse.CommandResult.Command).Bind(parse);
    }

    private static (Scenario Scenario, ScenarioRunOptions Options, bool DryRun, bool Plan) ScenarioRun(params string[] args)
    {
        var parse = Program.Parse(args);
        Assert.Empty(parse.Errors);
        return ((ScenarioCommand)parse.CommandResult.Command).Bind(parse);
    }

    /// <summary>Issue 14 item 9: the first parser took --help for an option that needs a value.</summary>
    [Fact]
    public async Task Main_LightingHelpAsProcess_PrintsUsageOnStdoutAndExitsZero()
    {
        using var process = Process.Start(new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "smartcity-sim.dll"), "lighting", "--help"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(deadline.Token);

        Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {await stderr}");
        Assert.Contains("smartcity-sim lighting [options]", await stdout, StringComparison.Ordinal);
        Assert.Contains("--lamps", await stdout, StringComparison.Ordinal);
        Assert.Equal("", await stderr);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("lighting", "--help")]
    [InlineData("lighting", "-h")]
    [InlineData("scenario", "--help")]
    [InlineData("scenario", "-h")]
    public async Task RunAsync_Help_UsageOnStdoutExitZero(params string[] args) =>
        CommandLineAssert.Help(await RunAsync(args), string.Join(' ', ["smartcity-sim", .. args.SkipLast(1)]));

    [Fact]
    public async Task RunAsync_Help_ListsEveryOptionOfTheSubcommand()
    {
        CommandLineAssert.Lists((await RunAsync("lighting", "--help")).Out, "--host", "--port", "--username", "--password", "--lamps", "--districts", "--rate", "--messages", "--duration", "--seed", "--start", "--interval", "--qos", "--in-flight", "--topic-root", "--client-id");
        CommandLineAssert.Lists((await RunAsync("scenario", "--help")).Out, "--connections", "--gateways", "--accelerate", "--load", "--live", "--client-id-prefix", "--max-messages", "--max-seconds", "--dry-run", "--plan");
    }

    [Fact]
    public async Task RunAsync_Version_PrintsTheAssemblyVersionExitZero() =>
        CommandLineAssert.Version(await RunAsync("--version"), typeof(Program).Assembly);

    [Theory]
    [InlineData("--lamp", "lighting", "--lamp", "5")]
    [InlineData("--port", "lighting", "--port")]
    [InlineData("--port", "lighting", "--port", "many")]
    [InlineData("--lamps must be greater than 0", "lighting", "--lamps", "0")]
    [InlineData("--qos", "lighting", "--qos", "2")]
    [InlineData("--gateway", "scenario", "FILE", "--gateway", "8")]
    [InlineData("--connections", "scenario", "FILE", "--connections", "mesh")]
    [InlineData("--duration", "scenario", "FILE", "--duration", "soon")]
    [InlineData("FILE", "scenario")]
    [InlineData("command", "frobnicate")]
    [InlineData("command")]
    public async Task RunAsync_BadCommandLine_ExitsSixtyFourNamingTheProblem(string named, params string[] args)
    {
        args = [.. args.Select(a => a == "FILE" && args.Length > 1 ? ScenarioFile("demo-city") : a)];
        CommandLineAssert.UsageError(await RunAsync(args), Program.UsageExitCode, named);
    }

    /// <summary>scripts/run.sh: <c>scenario simulators/scenarios/demo-city.json --host H --port P --live</c>.</summary>
    [Fact]
    public void Parse_RunShInvocation_LiveScenarioOnTheGivenBroker()
    {
        var (scenario, options, dryRun, plan) = ScenarioRun("scenario", ScenarioFile("demo-city"), "--host", "127.0.0.9", "--port", "18830", "--live");

        Assert.Equal("demo-city", scenario.Name);
        Assert.Equal(("127.0.0.9", 18830), (options.Broker.Host, options.Broker.Port));
        Assert.True(options.Live);
        Assert.False(options.Load);
        Assert.Equal(new ScenarioRunOptions().Gateways, options.Gateways);
        Assert.False(dryRun);
        Assert.False(plan);
    }

    /// <summary>bench/SmartCity.Bench's memory phase (an empty password when the broker has none).</summary>
    [Fact]
    public void Parse_BenchMemoryInvocation_EveryOptionMapped()
    {
        var (scenario, options, _, _) = ScenarioRun(
            "scenario", ScenarioFile("load-100k"), "--host", "127.0.0.1", "--port", "1884", "--load", "--gateways", "8", "--in-flight", "500",
            "--max-messages", "300000", "--max-seconds", "120", "--client-id-prefix", "bench-100k-x", "--topic-root", "bench-r1", "--username", "simulator", "--password", "");

        Assert.True(options.Load);
        Assert.Equal(8, options.Gateways);
        Assert.Equal(500, options.InFlight);
        Assert.Equal(300_000, options.MaxMessages);
        Assert.Equal(TimeSpan.FromSeconds(120), options.MaxDuration);
        Assert.Equal("bench-100k-x", options.ClientIdPrefix);
        Assert.Equal("bench-r1", scenario.TopicRoot);
        Assert.Equal(("simulator", ""), (options.Broker.Username, options.Broker.Password));
    }

    [Fact]
    public void Parse_ScenarioOverrides_SeedStartDurationQosConnections()
    {
        var (scenario, options, dryRun, plan) = ScenarioRun(
            "scenario", ScenarioFile("demo-city"), "--seed", "-5", "--accelerate", "60", "--start", "2026-11-28T22:00:00", "--duration", "PT2H",
            "--qos", "0", "--connections", "device", "--dry-run", "--plan", "--password", "@not-a-response-file");

        Assert.Equal(-5, scenario.Seed);
        Assert.Equal(60, scenario.Acceleration);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 22, 0, 0, TimeSpan.Zero), scenario.Start);
        Assert.Equal(TimeSpan.FromHours(2), scenario.Duration);
        Assert.Equal(MqttQualityOfServiceLevel.AtMostOnce, options.Qos);
        Assert.Equal(ConnectionMode.Device, options.Connections);
        Assert.Equal("@not-a-response-file", options.Broker.Password);
        Assert.True(dryRun);
        Assert.True(plan);
    }

    /// <summary>The Dockerfile's example and the simulator's defaults when an option is not given.</summary>
    [Fact]
    public void Parse_LightingInvocation_OptionsMappedDefaultsKept()
    {
        var given = LightingOptions("lighting", "--host", "broker", "--username", "U", "--password", "P", "--lamps", "200", "--rate", "50",
            "--duration", "1.5", "--interval", "10", "--qos", "0", "--start", "2026-11-28T22:00:00Z");
        var defaults = LightingOptions("lighting");

        Assert.Equal(("broker", 1883, "U", "P"), (given.Broker.Host, given.Broker.Port, given.Broker.Username, given.Broker.Password));
        Assert.Equal((200, 50.0), (given.Lamps, given.Rate));
        Assert.Equal(TimeSpan.FromSeconds(1.5), given.Duration);
        Assert.Equal(TimeSpan.FromSeconds(10), given.Interval);
        Assert.Equal(MqttQualityOfServiceLevel.AtMostOnce, given.Qos);
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 22, 0, 0, TimeSpan.Zero), given.Start);
        Assert.Equal(("127.0.0.1", 1883, 200, 4, 50.0, 1, 20), (defaults.Broker.Host, defaults.Broker.Port, defaults.Lamps, defaults.Districts, defaults.Rate, defaults.Seed, defaults.InFlight));
        Assert.Equal(("city", "smartcity-sim-lighting", MqttQualityOfServiceLevel.AtLeastOnce), (defaults.TopicRoot, defaults.ClientId, defaults.Qos));
        Assert.Null(defaults.Start);
    }

    /// <summary>A real run of the command: <c>--plan</c> prints the schedule with the overridden seed.</summary>
    [Fact]
    public async Task RunAsync_ScenarioPlan_PrintsTheScheduleExitZero()
    {
        var (code, output, errors) = await RunAsync("scenario", ScenarioFile("demo-city"), "--plan", "--seed", "3", "--start", "2026-11-28T00:00:00Z");

        Assert.True(code == 0, errors);
        Assert.Contains("scenario  demo-city", output, StringComparison.Ordinal);
        Assert.Contains("time      2026-11-28T00:00:00Z", output, StringComparison.Ordinal);
        Assert.Contains("seed 3", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_MissingScenarioFile_ExitsSixtyFourNamingTheFile()
    {
        var missing = Path.Combine(Path.GetTempPath(), "no-such-scenario-" + Guid.NewGuid().ToString("N") + ".json");
        var (code, _, errors) = await RunAsync("scenario", missing);

        Assert.Equal(Program.UsageExitCode, code);
        Assert.Contains(missing, errors, StringComparison.Ordinal);
    }
}

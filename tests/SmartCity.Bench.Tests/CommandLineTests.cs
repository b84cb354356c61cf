using System.CommandLine;
using SmartCity.Bench.Infrastructure;
using SmartCity.Tests.CommandLine;

namespace SmartCity.Bench.Tests;

/// <summary>SmartCity.Bench's command line through its real entry point: help, version, errors, and the invocations of bench/run.sh and of the e2e run itself.</summary>
public sealed class CommandLineTests
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await Program.RunAsync(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>The options the benchmark code would read from this command line, and the command it runs.</summary>
    private static (string Command, Args Args) Parsed(params string[] args)
    {
        var parse = Program.Parse(args);
        Assert.Empty(parse.Errors);
        var command = parse.CommandResult.Command;
        return (command.Name, Args.From(parse, command.Options.Where(o => o is not System.CommandLine.Help.HelpOption and not VersionOption)));
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("help")]
    [InlineData("e2e", "--help")]
    [InlineData("publish", "--help")]
    [InlineData("null-sub", "-h")]
    public async Task RunAsync_Help_UsageOnStdoutExitZero(params string[] args) =>
        CommandLineAssert.Help(await RunAsync(args), string.Join(' ', ["SmartCity.Bench", .. args.SkipLast(1)]));

    [Fact]
    public async Task RunAsync_E2eHelp_ListsEveryOption() =>
        CommandLineAssert.Lists((await RunAsync("e2e", "--help")).Out, "--messages", "--warmup", "--lamps", "--connections", "--in-flight", "--latency-seconds", "--latency-rate", "--latency-rates",
            "--shared-workers", "--memory-messages", "--memory-seconds", "--scenario", "--phases", "--rounds", "--quiet-wait", "--variants", "--profile", "--profile-latency", "--latency-warmup-seconds", "--warmup-runs", "--json", "--work-dir", "--existing-servers");

    [Fact]
    public async Task RunAsync_Version_PrintsTheAssemblyVersionExitZero() =>
        CommandLineAssert.Version(await RunAsync("--version"), typeof(Program).Assembly);

    [Theory]
    [InlineData("--mesages", "--mesages", "5")]
    [InlineData("--mesages", "e2e", "--mesages", "5")]
    [InlineData("--json", "e2e", "--json")]
    [InlineData("--births", "publish", "--births", "yes")]
    [InlineData("frobnicate", "frobnicate")]
    public async Task RunAsync_BadCommandLine_ExitsSixtyFourNamingTheProblem(string named, params string[] args) =>
        CommandLineAssert.UsageError(await RunAsync(args), Program.UsageExitCode, named);

    /// <summary>bench/run.sh: <c>e2e --work-dir D --json F "$@"</c>, e.g. <c>--phases pipeline</c>; without "e2e" the same.</summary>
    [Theory]
    [InlineData("e2e")]
    [InlineData(null)]
    public void Parse_RunShInvocation_E2eWithItsOptions(string? command)
    {
        string[] options = ["--work-dir", "/tmp/w", "--json", "bench/out/e2e.json", "--phases", "pipeline", "--existing-servers", "--latency-rates", "2000,3000"];
        var (name, args) = Parsed(command is null ? options : [command, .. options]);

        Assert.Equal(command ?? "SmartCity.Bench", name);
        Assert.Equal("/tmp/w", args.OptionalString("--work-dir"));
        Assert.Equal("bench/out/e2e.json", args.OptionalString("--json"));
        Assert.Equal("pipeline", args.String("--phases", "all"));
        Assert.True(args.Flag("--existing-servers"));
        Assert.False(args.Flag("--profile"));
        Assert.Equal("2000,3000", args.OptionalString("--latency-rates"));
        Assert.Equal(120_000, args.Long("--messages", 120_000));
    }

    /// <summary>The publisher and the null subscriber as the e2e run starts them (E2eBenchmark).</summary>
    [Fact]
    public void Parse_E2eChildInvocations_EveryOptionRead()
    {
        var (publish, pub) = Parsed("publish", "--host", "127.0.0.1", "--port", "1884", "--connections", "4", "--in-flight", "100", "--qos", "0", "--messages", "500",
            "--lamps", "200", "--districts", "4", "--rate", "2500.5", "--client-id-prefix", "bench-pub-x", "--topic-root", "bench-r", "--start-ms", "1764370800000", "--first", "12000", "--births");
        var (nullSub, sub) = Parsed("null-sub", "--host", "127.0.0.1", "--port", "1884", "--client-id", "bench-null-x", "--warmup", "10", "--count", "500", "--filter", "bench-r/#");

        Assert.Equal(("publish", "null-sub"), (publish, nullSub));
        Assert.Equal((1884, 0, 500L, 2500.5), (pub.Int("--port", 1883), pub.Int("--qos", 1), pub.Long("--messages", 0), pub.Double("--rate", 0)));
        Assert.Equal((1764370800000L, 12_000L, "bench-r"), (pub.Long("--start-ms", 0), pub.Long("--first", 0), pub.String("--topic-root", "city")));
        Assert.True(pub.Flag("--births"));
        Assert.Equal(("bench-null-x", "bench-r/#", 10L, 500L), (sub.String("--client-id", ""), sub.String("--filter", "city/#"), sub.Long("--warmup", 0), sub.Long("--count", 0)));
        Assert.Equal(5.0, sub.Double("--idle-seconds", 5));
    }
}

using System.CommandLine;
using SmartCity.CommandLine;

namespace SmartCity.Simulators;

/// <summary>
/// smartcity-sim: simulated field devices over real MQTT.
///   smartcity-sim scenario simulators/scenarios/demo-city.json --host 127.0.0.1 --port 1883 [--accelerate 720] [--load] [--seed N]
///   smartcity-sim lighting --host 127.0.0.1 --port 1883 --lamps 200 --rate 50 [--messages N] [--duration S]
/// Exit codes: 0 done (or help, version), 1 messages failed or the broker was unreachable,
/// 64 bad options, 65 an invalid scenario file.
/// </summary>
public static class Program
{
    /// <summary>EX_USAGE (sysexits.h), the code of the simulator's bad options since its first version.</summary>
    public const int UsageExitCode = 64;

    public static async Task<int> Main(string[] args)
    {
        using var stop = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stop.Cancel();
        };
        return await RunAsync(args, Console.Out, Console.Error, stop.Token).ConfigureAwait(false);
    }

    /// <summary>The whole tool, with its output on the given writers (tests run it in process).</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken) =>
        Cli.InvokeAsync(Parse(args), stdout, stderr, UsageExitCode, cancellationToken);

    public static ParseResult Parse(IReadOnlyList<string> args) => Cli.Parse(BuildCommand(), args);

    public static Command BuildCommand()
    {
        var root = Cli.Root("smartcity-sim", "Simulated field devices over real MQTT.");
        root.Subcommands.Add(new ScenarioCommand());
        root.Subcommands.Add(new LightingCommand());
        return root;
    }
}

using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.Globalization;
using System.Numerics;
using System.Reflection;

namespace SmartCity.CommandLine;

/// <summary>
/// What the project's command-line tools (smartcity-sim, smartcity-profile, smartcity-provision,
/// SmartCity.Bench) share on top of System.CommandLine. Linked as source into each tool, so the
/// tools stay single assemblies and <c>--version</c> reports the tool's own assembly.
/// </summary>
internal static class Cli
{
    /// <summary>
    /// Response files off: a value starting with '@' (a password, a topic) stays a value, as it was
    /// with the hand-written parsers.
    /// </summary>
    private static readonly ParserConfiguration ParserSettings = new() { ResponseFileTokenReplacer = null };

    /// <summary>
    /// A root command named after the tool (RootCommand would take the host's name: "testhost" in
    /// tests, "dotnet" under <c>dotnet run</c>) with <c>-h/--help</c> and <c>--version</c>.
    /// </summary>
    public static Command Root(string name, string description) =>
        new(name, description) { new HelpOption(), new VersionOption { Action = new PrintVersionAction() } };

    public static ParseResult Parse(Command root, IReadOnlyList<string> args) => root.Parse(args, ParserSettings);

    /// <summary>
    /// Runs the parsed command: help and version go to <paramref name="stdout"/> with exit 0; a
    /// parse error prints the errors and the command's help to <paramref name="stderr"/> and
    /// returns <paramref name="usageExitCode"/> (the tool's documented usage code, where
    /// System.CommandLine would return 1).
    /// </summary>
    public static async Task<int> InvokeAsync(ParseResult parse, TextWriter stdout, TextWriter stderr, int usageExitCode, CancellationToken cancellationToken)
    {
        var isUsageError = parse.Action is ParseErrorAction;
        if (parse.Action is ParseErrorAction errorAction)
        {
            // Its guesses are noise for values ("'1' was not matched. Did you mean -h?").
            errorAction.ShowTypoCorrections = false;
        }

        var settings = new InvocationConfiguration
        {
            Output = isUsageError ? stderr : stdout,
            Error = stderr,
            // The tools stop themselves on Ctrl-C (the caller's token) and finish their summary
            // line: no forced exit 130 after a grace period.
            ProcessTerminationTimeout = null,
            // A bug stays a crash with its stack trace, as before, not a one-line exit 1.
            EnableDefaultExceptionHandler = false,
        };
        var code = await parse.InvokeAsync(settings, cancellationToken).ConfigureAwait(false);
        return isUsageError ? usageExitCode : code;
    }

    /// <summary>True when the option is on the command line; otherwise the options record keeps its own default.</summary>
    public static bool Given(this ParseResult parse, Option option) => parse.GetResult(option) is { Implicit: false };

    public static Option<T> Positive<T>(this Option<T> option) where T : INumber<T>
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<T>() <= T.Zero)
            {
                r.AddError($"{option.Name} must be greater than 0");
            }
        });
        return option;
    }

    public static Option<T> NonNegative<T>(this Option<T> option) where T : INumber<T>
    {
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<T>() < T.Zero)
            {
                r.AddError($"{option.Name} must not be negative");
            }
        });
        return option;
    }

    /// <summary>An ISO 8601 / RFC 3339 time; without an offset it is UTC (not the machine's zone).</summary>
    public static DateTimeOffset? ParseTime(System.CommandLine.Parsing.ArgumentResult result)
    {
        var text = result.Tokens.Single().Value;
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }

        result.AddError($"'{text}' is not a time (e.g. 2026-11-28T22:00:00Z)");
        return null;
    }

    /// <summary>
    /// Without this, System.CommandLine takes an unknown "--option" as the value of a positional
    /// argument (a FILE, a device ID) and the message points at the wrong token.
    /// </summary>
    public static Argument<string> NoOptionLike(this Argument<string> argument)
    {
        argument.Validators.Add(r =>
        {
            if (r.Tokens.Count > 0 && r.Tokens[0].Value.StartsWith('-'))
            {
                r.AddError($"unknown option {r.Tokens[0].Value} (expected {argument.Name})");
            }
        });
        return argument;
    }

    private sealed class PrintVersionAction : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var assembly = typeof(Cli).Assembly;
            var version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
                ?? assembly.GetName().Version?.ToString()
                ?? "unknown";
            parseResult.InvocationConfiguration.Output.WriteLine(version);
            return 0;
        }
    }
}

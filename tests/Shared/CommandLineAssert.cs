using System.Reflection;

namespace SmartCity.Tests.CommandLine;

/// <summary>
/// What every command-line tool of the project promises (src/Shared/CommandLine/Cli.cs), checked on
/// one run's exit code, stdout and stderr. Linked as source into each tool's test project.
/// </summary>
internal static class CommandLineAssert
{
    /// <summary>--help / -h: usage of <paramref name="command"/> (e.g. "smartcity-sim lighting") on stdout, exit 0, nothing on stderr.</summary>
    public static void Help((int Code, string Out, string Err) run, string command)
    {
        Assert.True(run.Code == 0, $"exit {run.Code}: {run.Err}");
        Assert.Contains("Usage:", run.Out, StringComparison.Ordinal);
        Assert.Contains(command + " ", run.Out, StringComparison.Ordinal);
        Assert.Equal("", run.Err);
    }

    /// <summary>Every one of <paramref name="options"/> is described in the help text.</summary>
    public static void Lists(string help, params string[] options)
    {
        foreach (var option in options)
        {
            Assert.Contains(option + " ", help, StringComparison.Ordinal);
        }
    }

    /// <summary>--version: the tool assembly's informational version alone on stdout, exit 0.</summary>
    public static void Version((int Code, string Out, string Err) run, Assembly tool)
    {
        Assert.Equal(0, run.Code);
        Assert.Equal(tool.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion, run.Out.Trim());
    }

    /// <summary>A usage error: the tool's usage exit code, <paramref name="named"/> (the option, argument or value) in the message on stderr, nothing on stdout.</summary>
    public static void UsageError((int Code, string Out, string Err) run, int usageExitCode, string named)
    {
        Assert.True(run.Code == usageExitCode, $"exit {run.Code}, expected {usageExitCode}: {run.Err}");
        Assert.Contains(named, run.Err, StringComparison.Ordinal);
        Assert.Equal("", run.Out);
    }
}

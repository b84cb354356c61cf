using System.Diagnostics;
using SmartCity.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Deploy;

/// <summary>
/// The command-line tools ship as .NET tools (src/Shared/DotnetTool.props): one is packed, installed from
/// a local folder the way docs/operations.md says, and run. smartcity-provision, because this test
/// project builds it already, so the pack needs no build of its own.
/// </summary>
public sealed class DotnetToolTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ProvisionTool_PackedAndInstalledFromFolder_RunsHelp()
    {
        var dir = Directory.CreateTempSubdirectory("smartcity-tool-");
        try
        {
            var clock = Stopwatch.StartNew();
            var feed = Path.Combine(dir.FullName, "feed");
            var tools = Path.Combine(dir.FullName, "tools");
            // Only the local folder as a package source: the install works offline, and finds nothing else.
            var config = Path.Combine(dir.FullName, "nuget.config");
            await File.WriteAllTextAsync(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration><packageSources><clear /><add key="local" value="{feed}" /></packageSources></configuration>
                """);
            var project = Path.Combine(RepositoryFiles.Root, "src", "SmartCity.Provisioning", "SmartCity.Provisioning.csproj");

            var pack = await ProcessRunner.RunAsync("dotnet", ["pack", project, "-c", "Release", "--no-build", "-o", feed, "-nologo"], dir.FullName, timeout: TimeSpan.FromMinutes(2));
            Assert.True(pack.Exit == 0, "dotnet pack: " + pack.Output);
            Assert.Single(Directory.GetFiles(feed, "smartcity-provision.*.nupkg"));

            var install = await ProcessRunner.RunAsync("dotnet", ["tool", "install", "--tool-path", tools, "--add-source", feed, "--configfile", config, "smartcity-provision"], dir.FullName, timeout: TimeSpan.FromMinutes(2));
            Assert.True(install.Exit == 0, "dotnet tool install: " + install.Output);

            var help = await ProcessRunner.RunAsync(Path.Combine(tools, "smartcity-provision"), ["--help"], dir.FullName, timeout: TimeSpan.FromMinutes(1));
            clock.Stop();

            Assert.True(help.Exit == 0, "smartcity-provision --help: " + help.Output);
            Assert.Contains("smartcity-provision", help.Stdout, StringComparison.Ordinal);
            Assert.Contains("device", help.Stdout, StringComparison.Ordinal);
            // A figure, not a bound: three dotnet processes on a shared 2-core machine at load 50 can take a minute
            // between them; each step has its own generous timeout above.
            output.WriteLine($"FIGURES pack + install + run took {clock.Elapsed.TotalSeconds:F1} s");
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

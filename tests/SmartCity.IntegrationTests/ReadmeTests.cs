using System.Text.RegularExpressions;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests;

/// <summary>
/// README.md names only what exists: every component in the data-flow diagram is a type in src/,
/// every repository path it quotes is there. (It once drew an IngestBuffer that never existed.)
/// </summary>
public sealed partial class ReadmeTests
{
    private static string Readme => RepositoryFiles.ReadAllText("README.md");

    [Fact]
    public void DataFlowDiagram_NamesOnlyTypesThatExist()
    {
        var section = Readme[Readme.IndexOf("## How data flows", StringComparison.Ordinal)..];
        var diagram = section[(section.IndexOf("```", StringComparison.Ordinal) + 3)..];
        diagram = diagram[..diagram.IndexOf("```", StringComparison.Ordinal)];
        // Paths such as (src/SmartCity.Worker) are checked below; the product's name is no type.
        var names = TypeLikeName().Matches(PathLike().Replace(diagram, " ")).Select(m => m.Value).Where(n => n != "SmartCity").Distinct().ToList();
        Assert.True(names.Count >= 4, "the diagram's components were not found: " + string.Join(", ", names));

        var declared = Directory.EnumerateFiles(Path.Combine(RepositoryFiles.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => TypeDeclaration().Matches(File.ReadAllText(f)).Select(m => m.Groups["name"].Value))
            .ToHashSet(StringComparer.Ordinal);
        var undeclared = names.Where(n => !declared.Contains(n)).ToList();
        Assert.True(undeclared.Count == 0, "named in the diagram but no type in src/: " + string.Join(", ", undeclared));
    }

    [Fact]
    public void QuotedRepositoryPaths_Exist()
    {
        var paths = QuotedPath().Matches(Readme).Select(m => m.Groups["path"].Value).Where(p => !p.Contains('*', StringComparison.Ordinal)).Distinct().ToList();
        Assert.True(paths.Count >= 10, "too few paths found to mean anything: " + string.Join(", ", paths));

        var missing = paths.Where(p => !File.Exists(Path.Combine(RepositoryFiles.Root, p)) && !Directory.Exists(Path.Combine(RepositoryFiles.Root, p))).ToList();
        Assert.Empty(missing);
    }

    [Fact]
    public void QuickStart_DeviceCount_IsTheDemoScenarios()
    {
        // The demo runs simulators/scenarios/demo-city.json: its "devices" counts, summed.
        var scenario = RepositoryFiles.ReadAllText("simulators/scenarios/demo-city.json");
        var devices = scenario[scenario.IndexOf("\"devices\"", StringComparison.Ordinal)..];
        devices = devices[..devices.IndexOf('}', StringComparison.Ordinal)];
        var total = DeviceCount().Matches(devices).Sum(m => int.Parse(m.Groups["n"].Value, System.Globalization.CultureInfo.InvariantCulture));

        var quickStart = Readme[Readme.IndexOf("## Quick start", StringComparison.Ordinal)..];
        quickStart = Whitespace().Replace(quickStart[..quickStart.IndexOf("\n## ", 3, StringComparison.Ordinal)], " ");
        Assert.True(total > 0, "no device counts found in demo-city.json");
        Assert.Contains($"{total.ToString(System.Globalization.CultureInfo.InvariantCulture)} devices", quickStart, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\b[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+\b")]
    private static partial Regex TypeLikeName();

    [GeneratedRegex(@"\S*[/.]\S*")]
    private static partial Regex PathLike();

    [GeneratedRegex(@"\b(?:class|record|struct|interface|enum)\s+(?<name>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex TypeDeclaration();

    [GeneratedRegex(@"`(?<path>(?:src|tests|docs|scripts|simulators|deploy|grafana|profiles|bench|infra)/[^`\s,]*?)/?`")]
    private static partial Regex QuotedPath();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"""[a-z_]+"":\s*(?<n>\d+)")]
    private static partial Regex DeviceCount();
}

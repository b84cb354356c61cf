using System.Text.RegularExpressions;

namespace SmartCity.Architecture.Tests;

/// <summary>The product's own source: every project under src/, read from the repository this test runs in.</summary>
internal sealed partial record SourceProject(string Name, string Directory, string AssemblyName, bool IsWeb, IReadOnlyList<string> ExtraUsings, IReadOnlyList<string> LinkedFiles)
{
    /// <summary>The project's own files and those it compiles from elsewhere by a link (src/Shared).</summary>
    public IEnumerable<string> Files() =>
        System.IO.Directory.EnumerateFiles(Directory, "*.cs", SearchOption.AllDirectories)
            .Where(f => !IsBuildOutput(Path.GetRelativePath(Directory, f)))
            .Concat(LinkedFiles)
            .Order(StringComparer.Ordinal);

    private static bool IsBuildOutput(string relative)
    {
        var first = relative.Split(Path.DirectorySeparatorChar)[0];
        return first is "bin" or "obj";
    }

    public static SourceProject Read(string csproj)
    {
        var text = File.ReadAllText(csproj);
        var name = Path.GetFileNameWithoutExtension(csproj);
        var assembly = AssemblyNamePattern().Match(text) is { Success: true } m ? m.Groups[1].Value : name;
        var usings = UsingPattern().Matches(text).Select(u => u.Groups[1].Value).ToList();
        var directory = Path.GetDirectoryName(csproj)!;
        var linked = LinkedPattern().Matches(text)
            .SelectMany(c => Linked(directory, c.Groups[1].Value.Replace('\\', '/')))
            .ToList();
        return new SourceProject(name, directory, assembly, text.Contains("Microsoft.NET.Sdk.Web", StringComparison.Ordinal), usings, linked);
    }

    /// <summary>A Compile item's file (the tools compile src/Shared's files by a link).</summary>
    private static IEnumerable<string> Linked(string directory, string include)
    {
        var full = Path.GetFullPath(Path.Combine(directory, include));
        return File.Exists(full) ? [full] : [];
    }

    [GeneratedRegex("<AssemblyName>([^<]+)</AssemblyName>")]
    private static partial Regex AssemblyNamePattern();

    [GeneratedRegex("<Compile Include=\"([^\"]+\\.cs)\"")]
    private static partial Regex LinkedPattern();

    [GeneratedRegex("<Using Include=\"([^\"]+)\"")]
    private static partial Regex UsingPattern();
}

internal static class SourceTree
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static IReadOnlyList<SourceProject> Projects { get; } =
        Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "src"), "*.csproj", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(SourceProject.Read)
            .ToList();

    /// <summary>Every C# file under src/, also those compiled into several projects by a link (src/Shared).</summary>
    public static IEnumerable<string> AllSourceFiles() =>
        Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !Path.GetRelativePath(RepositoryRoot, f).Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
            .Order(StringComparer.Ordinal);

    public static string Relative(string path) => Path.GetRelativePath(RepositoryRoot, path).Replace('\\', '/');

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartCity.sln")) && Directory.Exists(Path.Combine(dir.FullName, "src")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no SmartCity.sln above {AppContext.BaseDirectory}");
    }
}

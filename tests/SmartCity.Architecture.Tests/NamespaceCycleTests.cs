using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SmartCity.Architecture.Tests;

/// <summary>
/// The stages depend one way: no two namespaces of src/ use each other, directly or through others.
/// A cycle means two rooms that cannot be understood (or moved, or tested) one without the other.
/// The sources are bound again with Roslyn, so a reference anywhere (a signature, a method body, an
/// attribute) counts, not only what the compiled metadata keeps.
/// </summary>
public sealed class NamespaceCycleTests
{
    [Fact]
    public void Namespaces_InSrc_HaveNoCycle()
    {
        var graph = DependencyGraph.OfSources;

        var cycles = graph.Cycles().Select(graph.Describe).ToList();

        Assert.True(cycles.Count == 0, "namespace cycles in src/:\n" + string.Join("\n\n", cycles));
    }

    [Fact]
    public void DependencyGraph_SeesReferencesInSignaturesAndBodies()
    {
        // The measure itself, on known ground: the worker's host uses the pipeline's composition and
        // the telemetry library never uses the worker.
        var graph = DependencyGraph.OfSources;

        Assert.Contains(graph.Edges, e => e.From == "SmartCity.Worker" && e.To.StartsWith("SmartCity.Telemetry.", StringComparison.Ordinal));
        Assert.DoesNotContain(graph.Edges, e => e.From.StartsWith("SmartCity.Telemetry", StringComparison.Ordinal) && e.To.StartsWith("SmartCity.Worker", StringComparison.Ordinal));
    }

    [Fact]
    public void Cycles_FoundThroughAThirdNamespace()
    {
        var graph = new DependencyGraph();
        graph.Add("A", "B", "a.cs:1 B.X");
        graph.Add("B", "C", "b.cs:1 C.Y");
        graph.Add("C", "A", "c.cs:1 A.Z");
        graph.Add("C", "D", "c.cs:2 D.W");

        var cycle = Assert.Single(graph.Cycles());
        Assert.Equal(["A", "B", "C"], cycle.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Sources_BindWithoutErrors_SoNoReferenceIsMissed()
    {
        // An unbound name would be a dependency this test cannot see. Only the source generators' own
        // gaps are tolerated (their partial methods have no body here, since generators do not run).
        var errors = DependencyGraph.Compilations.Value
            .SelectMany(c => c.GetDiagnostics())
            .Where(d => d.Severity == DiagnosticSeverity.Error && !DependencyGraph.GeneratorGaps.Contains(d.Id))
            .Select(d => d.ToString())
            .Take(20)
            .ToList();

        Assert.True(errors.Count == 0, "the sources did not bind:\n" + string.Join('\n', errors));
    }
}

internal sealed class DependencyGraph
{
    /// <summary>Errors that only mean "a source generator would have written this" ([LoggerMessage], [GeneratedRegex], ...).</summary>
    public static readonly HashSet<string> GeneratorGaps = ["CS8795", "CS0757", "CS8796", "CS9248"];

    private static readonly string[] SdkUsings =
        ["System", "System.Collections.Generic", "System.IO", "System.Linq", "System.Net.Http", "System.Threading", "System.Threading.Tasks"];

    private static readonly string[] WebSdkUsings =
    [
        "System.Net.Http.Json", "Microsoft.AspNetCore.Builder", "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Http",
        "Microsoft.AspNetCore.Routing", "Microsoft.Extensions.Configuration", "Microsoft.Extensions.DependencyInjection",
        "Microsoft.Extensions.Hosting", "Microsoft.Extensions.Logging",
    ];

    /// <summary>Compiled once for the whole class: binding the sources is the slow part.</summary>
    public static readonly Lazy<IReadOnlyList<CSharpCompilation>> Compilations = new(() => CompileAll(SourceTree.Projects).ToList());

    private static readonly Lazy<DependencyGraph> Sources = new(() => Build(Compilations.Value));

    private readonly Dictionary<(string From, string To), string> _examples = [];

    public static DependencyGraph OfSources => Sources.Value;

    public IEnumerable<(string From, string To)> Edges => _examples.Keys;

    public void Add(string from, string to, string example) => _examples.TryAdd((from, to), example);

    public static DependencyGraph Build(IEnumerable<CSharpCompilation> compilations)
    {
        var graph = new DependencyGraph();
        foreach (var compilation in compilations)
        {
            foreach (var tree in compilation.SyntaxTrees)
            {
                graph.AddReferences(compilation.GetSemanticModel(tree), tree);
            }
        }

        return graph;
    }

    public static IEnumerable<CSharpCompilation> CompileAll(IEnumerable<SourceProject> projects)
    {
        var binaries = Directory.EnumerateFiles(AppContext.BaseDirectory, "*.dll").ToList();
        var platform = ((string)AppContext.GetData("TRUSTED_PLATFORM_ASSEMBLIES")!).Split(Path.PathSeparator);
        foreach (var project in projects)
        {
            // Everything but the project itself (its own types come from its sources).
            var references = platform.Concat(binaries)
                .Where(p => !Path.GetFileNameWithoutExtension(p).Equals(project.AssemblyName, StringComparison.OrdinalIgnoreCase))
                .DistinctBy(Path.GetFileName, StringComparer.OrdinalIgnoreCase)
                .Select(p => MetadataReference.CreateFromFile(p));
            var usings = SdkUsings.Concat(project.IsWeb ? WebSdkUsings : []).Concat(project.ExtraUsings);
            var options = new CSharpParseOptions(LanguageVersion.Preview);
            var globalUsings = CSharpSyntaxTree.ParseText(string.Concat(usings.Select(u => $"global using global::{u};\n")), options, "GlobalUsings.g.cs");
            var trees = project.Files()
                .Select(f => CSharpSyntaxTree.ParseText(File.ReadAllText(f), options, SourceTree.Relative(f)))
                .Append(globalUsings);
            yield return CSharpCompilation.Create(
                project.AssemblyName,
                trees,
                references,
                new CSharpCompilationOptions(project.IsWeb || project.Files().Any(IsProgram) ? OutputKind.ConsoleApplication : OutputKind.DynamicallyLinkedLibrary, nullableContextOptions: NullableContextOptions.Enable, allowUnsafe: true));
        }
    }

    private static bool IsProgram(string file) => Path.GetFileName(file) == "Program.cs";

    private void AddReferences(SemanticModel model, SyntaxTree tree)
    {
        foreach (var name in tree.GetRoot().DescendantNodes().OfType<SimpleNameSyntax>())
        {
            if (name.Ancestors().Any(a => a is UsingDirectiveSyntax)
                || name.Ancestors().OfType<BaseNamespaceDeclarationSyntax>().Any(ns => ns.Name.Span.Contains(name.Span)))
            {
                continue;
            }

            var from = name.Ancestors().OfType<BaseNamespaceDeclarationSyntax>().FirstOrDefault()?.Name.ToString();
            var info = model.GetSymbolInfo(name);
            var symbol = info.Symbol ?? info.CandidateSymbols.FirstOrDefault();
            var to = symbol switch
            {
                null or INamespaceSymbol => null,
                INamedTypeSymbol type => type.ContainingNamespace?.ToDisplayString(),
                _ => symbol.ContainingType?.ContainingNamespace?.ToDisplayString(),
            };
            if (from is null || to is null || from == to || !to.StartsWith("SmartCity", StringComparison.Ordinal))
            {
                continue;
            }

            var line = tree.GetLineSpan(name.Span).StartLinePosition.Line + 1;
            Add(from, to, $"{tree.FilePath}:{line} uses {symbol!.ToDisplayString()}");
        }
    }

    /// <summary>Strongly connected components of more than one namespace (Tarjan).</summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var next = _examples.Keys.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.Select(e => e.To).ToList());
        var nodes = _examples.Keys.SelectMany(e => new[] { e.From, e.To }).Distinct().Order(StringComparer.Ordinal).ToList();
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<IReadOnlyList<string>>();

        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in next.GetValueOrDefault(v) ?? [])
            {
                if (!index.TryGetValue(w, out var seen))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], seen);
                }
            }

            if (low[v] != index[v])
            {
                return;
            }

            var component = new List<string>();
            string x;
            do
            {
                x = stack.Pop();
                onStack.Remove(x);
                component.Add(x);
            }
            while (x != v);
            if (component.Count > 1)
            {
                result.Add(component);
            }
        }

        foreach (var n in nodes.Where(n => !index.ContainsKey(n)))
        {
            Visit(n);
        }

        return result;
    }

    public string Describe(IReadOnlyList<string> cycle) =>
        $"{string.Join(" <-> ", cycle.Order(StringComparer.Ordinal))}:\n" + string.Join('\n',
            _examples.Where(e => cycle.Contains(e.Key.From) && cycle.Contains(e.Key.To))
                .OrderBy(e => e.Key.From, StringComparer.Ordinal).ThenBy(e => e.Key.To, StringComparer.Ordinal)
                .Select(e => $"  {e.Key.From} -> {e.Key.To}: {e.Value}"));
}

using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace SmartCity.Architecture.Tests;

/// <summary>
/// Rooms a newcomer can read: no file in src/ over 400 lines, no method over 60. A file that grows past
/// the bound is doing several things; split it along the data flow instead of raising the number.
/// </summary>
public sealed class SizeLimitTests
{
    public const int MaxFileLines = 400;
    public const int MaxMethodLines = 60;

    [Fact]
    public void SourceFiles_InSrc_AreAtMost400Lines()
    {
        var files = SourceTree.AllSourceFiles().ToList();
        Assert.NotEmpty(files);

        var tooLong = files
            .Select(f => (File: SourceTree.Relative(f), Lines: File.ReadAllLines(f).Length))
            .Where(f => f.Lines > MaxFileLines)
            .Select(f => $"{f.File}: {f.Lines} lines")
            .ToList();

        Assert.True(tooLong.Count == 0, $"files over {MaxFileLines} lines:\n" + string.Join('\n', tooLong));
    }

    [Fact]
    public void Methods_InSrc_AreAtMost60Lines()
    {
        var members = SourceTree.AllSourceFiles().SelectMany(MethodLengths).ToList();
        Assert.True(members.Count > 100, $"only {members.Count} methods found: the source tree was not read");

        var tooLong = members
            .Where(m => m.Lines > MaxMethodLines)
            .Select(m => $"{m.Location}: {m.Name} is {m.Lines} lines")
            .ToList();

        Assert.True(tooLong.Count == 0, $"methods over {MaxMethodLines} lines:\n" + string.Join('\n', tooLong));
    }

    [Fact]
    public void MethodLengths_CountConstructorsAccessorsAndLocalFunctions()
    {
        // The measure itself: a method's lines run from its signature to its closing brace, comments
        // before it excluded; accessors, constructors and local functions are methods too.
        const string code = """
            class C
            {
                // not counted
                public C()
                {
                    int Local()
                    {
                        return 1;
                    }
                }

                int P { get { return 1; } }
            }
            """;
        var lengths = MethodLengths(CSharpSyntaxTree.ParseText(code, path: "c.cs"))
            .ToDictionary(m => m.Name, m => m.Lines);

        Assert.Equal(7, lengths[".ctor"]);
        Assert.Equal(4, lengths["Local"]);
        Assert.Equal(1, lengths["get"]);
    }

    private static IEnumerable<(string Location, string Name, int Lines)> MethodLengths(string file) =>
        MethodLengths(CSharpSyntaxTree.ParseText(File.ReadAllText(file), path: SourceTree.Relative(file)));

    private static IEnumerable<(string Location, string Name, int Lines)> MethodLengths(SyntaxTree tree)
    {
        foreach (var node in tree.GetRoot().DescendantNodes())
        {
            var name = node switch
            {
                MethodDeclarationSyntax m => m.Identifier.Text,
                ConstructorDeclarationSyntax => ".ctor",
                DestructorDeclarationSyntax => "Finalize",
                OperatorDeclarationSyntax o => "operator " + o.OperatorToken.Text,
                ConversionOperatorDeclarationSyntax => "conversion",
                AccessorDeclarationSyntax a => a.Keyword.Text,
                LocalFunctionStatementSyntax l => l.Identifier.Text,
                _ => null,
            };
            if (name is null)
            {
                continue;
            }

            // Span excludes leading trivia (doc comments) and trailing trivia.
            var span = tree.GetLineSpan(node.Span);
            yield return ($"{span.Path}:{span.StartLinePosition.Line + 1}", name, span.EndLinePosition.Line - span.StartLinePosition.Line + 1);
        }
    }
}

using System.Collections.Frozen;
using Microsoft.AspNetCore.Http;

namespace SmartCity.OperatorConsole.Live;

/// <summary>The page's CSS, JS and icon, embedded in the assembly (wwwroot/) and served from memory.</summary>
internal static class ConsoleAssets
{
    private static readonly FrozenDictionary<string, (byte[] Bytes, string Type)> Files = Load();

    public static IResult Serve(string name) =>
        Files.TryGetValue(name, out var file)
            ? Results.Bytes(file.Bytes, file.Type)
            : Results.NotFound();

    private static FrozenDictionary<string, (byte[], string)> Load()
    {
        var assembly = typeof(ConsoleAssets).Assembly;
        var files = new Dictionary<string, (byte[], string)>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith("console/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var name = resource["console/".Length..];
            files[name] = (copy.ToArray(), Path.GetExtension(name) switch
            {
                ".css" => "text/css; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            });
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}

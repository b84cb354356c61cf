using System.Globalization;
using System.Text;

namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// What the worker's JIT compiled inside a measured window, when a variant runs it with the runtime's own JIT log
/// (<c>DOTNET_JitStdOutFile=PATH,DOTNET_JitDisasmSummary=1</c>: one line per method compiled, with its tier): the
/// lines appended to that file between <see cref="TryStart"/> and <see cref="Stop"/>, copied to the phase's log
/// folder and summed by tier and namespace. It answers "which paths does the warm-up still miss" where the
/// time-in-jit counter only says how long. The runtime buffers the file, so each end may be off by a few dozen lines.
/// </summary>
public sealed class JitWindowLog
{
    public const string FileSetting = "DOTNET_JitStdOutFile";

    private readonly string _path;
    private readonly long _start;

    private JitWindowLog(string path, long start)
    {
        _path = path;
        _start = start;
    }

    /// <summary>Marks the window's start in the worker's JIT log; null when the worker runs without one.</summary>
    public static JitWindowLog? TryStart(IReadOnlyDictionary<string, string> settings) =>
        settings.TryGetValue(FileSetting, out var path) && path.Length > 0 ? new JitWindowLog(path, Length(path)) : null;

    /// <summary>Copies the window's lines to <paramref name="copyTo"/>; returns a one-line summary.</summary>
    public string Stop(string copyTo)
    {
        string text;
        using (var file = new FileStream(_path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            // A new worker may have started the file afresh: then the whole of it is this worker's.
            file.Position = file.Length >= _start ? _start : 0;
            using var reader = new StreamReader(file, Encoding.UTF8);
            text = reader.ReadToEnd();
        }

        File.WriteAllText(copyTo, text);
        return Summarize(text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)) + $"; the list: {copyTo}";
    }

    /// <summary>Methods by tier and the namespaces with most of them, from JitDisasmSummary lines ("N: JIT compiled Ns.Type:Method(...) [Tier1, IL size=..]").</summary>
    public static string Summarize(IReadOnlyList<string> lines)
    {
        var methods = lines.Where(l => l.Contains("JIT compiled ", StringComparison.Ordinal)).ToList();
        var tiers = methods.GroupBy(Tier).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} {g.Count()}");
        var spaces = methods.GroupBy(Namespace).OrderByDescending(g => g.Count()).Take(6).Select(g => $"{g.Key} {g.Count()}");
        return string.Create(CultureInfo.InvariantCulture, $"JIT log of the window: {methods.Count} methods compiled ({string.Join(", ", tiers)}); most in {string.Join(", ", spaces)}");
    }

    private static string Tier(string line)
    {
        var open = line.LastIndexOf('[');
        var end = open < 0 ? -1 : line.IndexOfAny([',', ']'], open);
        return end < 0 ? "?" : line[(open + 1)..end].Trim();
    }

    private static string Namespace(string line)
    {
        var name = line[(line.IndexOf("JIT compiled ", StringComparison.Ordinal) + "JIT compiled ".Length)..];
        var type = name[..Math.Max(0, name.IndexOf(':', StringComparison.Ordinal))];
        var generic = type.IndexOfAny(['[', '`']);
        var parts = (generic < 0 ? type : type[..generic]).Split('.');
        // Up to three segments of the namespace: SmartCity.Telemetry.Alerting, System.Collections.Generic.
        return parts.Length > 1 ? string.Join('.', parts[..^1].Take(3)) : "(global)";
    }

    private static long Length(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;
}

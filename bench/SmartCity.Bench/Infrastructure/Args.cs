using System.CommandLine;
using System.Globalization;

namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// The benchmark's options as given (System.CommandLine parses them, <see cref="Program"/>), read with
/// their defaults where they are used. Every option read, none left over: a typo never runs a different benchmark.
/// </summary>
public sealed class Args
{
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    private Args()
    {
    }

    /// <summary>The options given on a parsed command line: flags without a value, the others with theirs.</summary>
    public static Args From(ParseResult parse, IEnumerable<Option> options)
    {
        var args = new Args();
        foreach (var option in options)
        {
            if (parse.GetResult(option) is { Implicit: false } given)
            {
                args._values[option.Name] = option is Option<bool> ? null : given.Tokens.Single().Value;
            }
        }

        return args;
    }

    public bool Flag(string name)
    {
        _read.Add(name);
        return _values.ContainsKey(name);
    }

    public string String(string name, string fallback)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var v) && v is not null ? v : fallback;
    }

    public string? OptionalString(string name)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var v) ? v : null;
    }

    public int Int(string name, int fallback) => (int)Long(name, fallback);

    public long Long(string name, long fallback)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var v) && v is not null ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;
    }

    public double Double(string name, double fallback)
    {
        _read.Add(name);
        return _values.TryGetValue(name, out var v) && v is not null ? double.Parse(v, CultureInfo.InvariantCulture) : fallback;
    }

    /// <summary>Throws if an option was given that no one read.</summary>
    public void EnsureAllRead()
    {
        var unknown = _values.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ArgumentException($"unknown option(s): {string.Join(", ", unknown)}");
        }
    }
}

using System.Collections.Concurrent;

namespace SmartCity.Telemetry.Devices;

/// <summary>
/// One instance of each name: sectors, districts, sites, device types, profiles. Names repeat across
/// thousands of devices; kept as each message or birth brings them, 100,000 devices held hundreds of
/// thousands of copies of a few thousand names. Thread-safe. Past its capacity a new name is returned
/// as it is and not kept, so hostile input cannot grow the table.
/// </summary>
public sealed class NameTable
{
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _capacity;
    private int _count;

    /// <param name="capacity">Most names kept.</param>
    public NameTable(int capacity = int.MaxValue)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The kept instance equal to <paramref name="name"/>, or <paramref name="name"/> itself (then kept while there is room).</summary>
    public string Get(string name) => _names.TryGetValue(name, out var kept) ? kept : Keep(name);

    /// <summary>The kept instance equal to <paramref name="name"/>, or a new string (then kept while there is room): no string when the name is known.</summary>
    public string Get(ReadOnlySpan<char> name) => _lookup.TryGetValue(name, out var kept) ? kept : Keep(name.ToString());

    private string Keep(string name)
    {
        if (Volatile.Read(ref _count) >= _capacity)
        {
            return name;
        }

        var kept = _names.GetOrAdd(name, name);
        if (ReferenceEquals(kept, name))
        {
            Interlocked.Increment(ref _count);
        }

        return kept;
    }
}

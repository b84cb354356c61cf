using System.Runtime.InteropServices;
using System.Text.Json;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// What lighting keeps for every lamp it has heard (its cabinet, its last birth, its last reading), one record per
/// lamp in one dictionary (issue 25). It used to be three dictionaries keyed by the same lamp id: at 80,000 lamps each
/// had grown to 156,437 slots, so the slack and the entries cost three times. <c>lighting.json</c> keeps its
/// <c>parents</c> and <c>births</c> objects: <see cref="Take"/> reads them from the loaded file, <see cref="WriteParents"/>
/// and <see cref="WriteBirths"/> write them back in the same form.
/// </summary>
internal sealed class LampTable
{
    private Dictionary<string, Lamp> _lamps = new(StringComparer.Ordinal);

    /// <summary>Cabinet names, one instance each: each birth brings its own copy, and 80,000 lamps kept 80,000 of a few thousand names.</summary>
    private readonly NameTable _names = new();

    public int Count => _lamps.Count;

    /// <summary>The lamp's record, a new empty one the first time.</summary>
    public Lamp this[string deviceId]
    {
        get
        {
            ref var lamp = ref CollectionsMarshal.GetValueRefOrAddDefault(_lamps, deviceId, out _);
            return lamp ??= new Lamp();
        }
    }

    public Lamp? Find(string deviceId) => _lamps.GetValueOrDefault(deviceId);

    /// <summary>Sets the lamp's cabinet; true when it changed.</summary>
    public bool SetParent(string deviceId, string cabinet)
    {
        var lamp = this[deviceId];
        if (lamp.Parent == cabinet)
        {
            return false;
        }

        lamp.Parent = _names.Get(cabinet);
        return true;
    }

    /// <summary>Lamp -> cabinet, a copy for the command planner.</summary>
    public Dictionary<string, string> Parents()
    {
        var parents = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, lamp) in _lamps)
        {
            if (lamp.Parent is { } cabinet)
            {
                parents[id] = cabinet;
            }
        }

        return parents;
    }

    /// <summary>
    /// Moves the loaded file's <see cref="LightingState.Parents"/> and <see cref="LightingState.Births"/> into the records
    /// (the state keeps them empty), in the file's order; the dictionary is sized once for the lamps of the file, or for
    /// <paramref name="expectedDevices"/> if more (the city's device count when configured: lamps are some of them, and a
    /// dictionary grown by doubling through the first birth storm ends with 156,437 slots for 80,000 lamps and leaves every
    /// smaller copy as garbage). At start, before any message.
    /// </summary>
    public void Take(LightingState state, int expectedDevices = 0)
    {
        _lamps = DeviceMaps.Create<Lamp>(Math.Max(expectedDevices, state.Parents.Count + state.Births.Count(b => !state.Parents.ContainsKey(b.Key))));
        foreach (var (id, cabinet) in state.Parents)
        {
            SetParent(id, cabinet);
        }

        foreach (var (id, birth) in state.Births)
        {
            this[id].Birth = birth;
        }

        state.Parents = new(StringComparer.Ordinal);
        state.Births = new(StringComparer.Ordinal);
    }

    /// <summary>The <c>parents</c> object of <c>lighting.json</c>, as the serializer wrote the dictionary.</summary>
    public void WriteParents(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (id, lamp) in _lamps)
        {
            if (lamp.Parent is { } cabinet)
            {
                writer.WriteString(id, cabinet);
                StateFile.FlushWhenFull(writer);
            }
        }

        writer.WriteEndObject();
    }

    /// <summary>The <c>births</c> object of <c>lighting.json</c>: each time with the offset the lamp sent.</summary>
    public void WriteBirths(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        foreach (var (id, lamp) in _lamps)
        {
            if (lamp.Birth is { } birth)
            {
                writer.WriteString(id, birth);
                StateFile.FlushWhenFull(writer);
            }
        }

        writer.WriteEndObject();
    }
}

/// <summary>
/// One lamp: 64 bytes with its birth packed (PackedInstant), its reading's instant as UTC ticks (0 = none) and fields inline, where the three
/// dictionaries' entries (a cabinet, a 16-byte birth, a 32-byte reading) plus their slack took about 229 bytes.
/// </summary>
internal sealed class Lamp
{
    private long _birthTicks;
    private short _birthOffsetMinutes = PackedInstant.None;
    private long _readingUtcTicks;
    private double _powerW;
    private double _fullW;
    private bool _on;

    /// <summary>The lamp's cabinet (birth <c>parent</c>), one shared instance per name.</summary>
    public string? Parent { get; set; }

    /// <summary>The device time of its last birth, with the device's own offset (the file keeps it).</summary>
    public DateTimeOffset? Birth
    {
        get => PackedInstant.Unpack(_birthTicks, _birthOffsetMinutes);
        set => (_birthTicks, _birthOffsetMinutes) = PackedInstant.Pack(value);
    }

    /// <summary>Its last reading with a power, if any (metering needs only the previous one).</summary>
    public LampReading? Reading
    {
        get => _readingUtcTicks == 0 ? null : new LampReading(new DateTimeOffset(_readingUtcTicks, TimeSpan.Zero), _powerW, _on, _fullW);
        set
        {
            _readingUtcTicks = value?.At.UtcTicks ?? 0;
            _powerW = value?.PowerW ?? 0;
            _on = value?.On ?? false;
            _fullW = value?.FullW ?? 0;
        }
    }
}

/// <summary>A lamp's reading: only hours (in UTC) and differences are taken from <see cref="At"/>, so it is kept in UTC.</summary>
internal readonly record struct LampReading(DateTimeOffset At, double PowerW, bool On, double FullW);

using System.Text.Json;
using System.Text.Json.Nodes;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Worker.Talq;

/// <summary>A device a TALQ gateway announced: who owns it, as what it is registered, as announced, and its last logged values.</summary>
public sealed record TalqStoredDevice
{
    /// <summary>The gateway (its TALQ address) that announced it: the only one that sees and writes it.</summary>
    public Guid Owner { get; init; }

    /// <summary>The profile it is registered with (streetlight, photocell), or "" when it is not registered.</summary>
    public string Profile { get; init; } = "";

    /// <summary>The Device as announced, with PATCHes merged in.</summary>
    public JsonObject Device { get; init; } = [];

    /// <summary>The last values mapped to profile fields (what the next telemetry point carries).</summary>
    public TalqValues Values { get; init; } = new();

    /// <summary>"{functionId}/{attributeName}" -> the Attribute last logged, as sent.</summary>
    public Dictionary<string, JsonObject> Attributes { get; init; } = new(StringComparer.Ordinal);
}

/// <summary>What the state file holds.</summary>
public sealed class TalqCmsState
{
    public Dictionary<Guid, TalqStoredDevice> Devices { get; set; } = [];

    /// <summary>Gateway address -> the services it told us it supports (POST /services), as sent.</summary>
    public Dictionary<Guid, JsonArray> Services { get; set; } = [];

    /// <summary>Gateway address -> its device classes (POST/PUT /device-classes) by name, as sent.</summary>
    public Dictionary<Guid, Dictionary<string, JsonObject>> Classes { get; set; } = [];
}

/// <summary>
/// The TALQ CMS's memory across restarts (<c>Talq:StateFile</c>, by default <c>talq-cms.json</c> beside the
/// registry file): which gateway owns which device, the devices as announced, their last logged values and the
/// gateways' services and device classes. A change of ownership or definitions is written (a new file flushed to
/// disk, then renamed over the old) before it is applied in memory and before the gateway gets its answer, so an
/// answered announcement survives a crash. Last values (log reports) are written at most once per
/// <see cref="ValuesSaveInterval"/> and at stop (<see cref="TalqStateSaver"/>): rewriting the file for every
/// report would cost a large network's disk, and values lost in a crash only delay the next point until level
/// and power are logged again. Callers serialise changes (<see cref="TalqIngress"/>'s gate).
/// </summary>
public sealed class TalqDeviceStore
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    /// <summary>How long last values may wait in memory before they are written.</summary>
    public static readonly TimeSpan ValuesSaveInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _lock = new();
    private TalqCmsState _state;
    private bool _dirty;

    public TalqDeviceStore(string path)
    {
        Path = System.IO.Path.GetFullPath(path);
        (_state, Problem) = Load(Path);
        foreach (var (device, stored) in _state.Devices)
        {
            Owners.ByDevice[device] = stored.Owner;
        }
    }

    public string Path { get; }

    /// <summary>Why the file could not be read (the worker does not start, rather than forget every gateway's devices), or null.</summary>
    public string? Problem { get; }

    /// <summary>Which gateway owns which device, for the command channel.</summary>
    public TalqDeviceOwners Owners { get; } = new();

    /// <summary>The file beside the registry's, unless <c>Talq:StateFile</c> names one.</summary>
    public static string ResolvePath(IConfiguration configuration) =>
        configuration[$"{TalqCmsEndpoints.SectionName}:StateFile"] is { Length: > 0 } file ? file
            : System.IO.Path.Combine(System.IO.Path.GetDirectoryName(configuration["Registry:File"] is { Length: > 0 } registry ? registry : "data/registry.json") is { Length: > 0 } dir ? dir : ".", "talq-cms.json");

    public TalqStoredDevice? Find(Guid device) => _state.Devices.GetValueOrDefault(device);

    /// <summary>The gateway's own devices, ordered by address (a stable order for pagination).</summary>
    public IReadOnlyList<(Guid Address, TalqStoredDevice Device)> OwnedBy(Guid gateway) =>
        [.. _state.Devices.Where(p => p.Value.Owner == gateway).OrderBy(p => p.Key).Select(p => (p.Key, p.Value))];

    public JsonArray? ServicesOf(Guid gateway) => _state.Services.GetValueOrDefault(gateway);

    /// <summary>The gateway's device classes by name (empty when it sent none).</summary>
    public IReadOnlyDictionary<string, JsonObject> ClassesOf(Guid gateway) => _state.Classes.GetValueOrDefault(gateway) ?? [];

    /// <summary>
    /// Writes the state with <paramref name="changes"/> (null: the device is removed), a gateway's services or its
    /// whole set of device classes, then applies it. Throws if it cannot be written: nothing changes then.
    /// Not <paramref name="durable"/> (last values only): applied now, written by the next <see cref="SaveIfChanged"/>.
    /// </summary>
    public void Commit(IReadOnlyDictionary<Guid, TalqStoredDevice?> changes, (Guid Gateway, JsonArray Services)? services = null, (Guid Gateway, Dictionary<string, JsonObject> Classes)? classes = null, bool durable = true)
    {
        var next = new TalqCmsState { Devices = new(_state.Devices), Services = new(_state.Services), Classes = new(_state.Classes) };
        foreach (var (device, stored) in changes)
        {
            if (stored is null)
            {
                next.Devices.Remove(device);
            }
            else
            {
                next.Devices[device] = stored;
            }
        }

        if (services is { } s)
        {
            next.Services[s.Gateway] = s.Services;
        }

        if (classes is { } c)
        {
            next.Classes[c.Gateway] = c.Classes;
        }

        lock (_lock)
        {
            if (durable)
            {
                Save(next);
            }

            _state = next;
            _dirty = !durable;
        }

        foreach (var (device, stored) in changes)
        {
            if (stored is null)
            {
                Owners.ByDevice.TryRemove(device, out _);
            }
            else
            {
                Owners.ByDevice[device] = stored.Owner;
            }
        }
    }

    /// <summary>Writes the last values applied since the last write, if any. Throws when it cannot: they stay to be written next time.</summary>
    public void SaveIfChanged()
    {
        lock (_lock)
        {
            if (_dirty)
            {
                Save(_state);
                _dirty = false;
            }
        }
    }

    private void Save(TalqCmsState state) => StateFile.Replace(Path, file => JsonSerializer.Serialize(file, state, Json));

    private static (TalqCmsState, string?) Load(string path)
    {
        try
        {
            return File.Exists(path) ? (JsonSerializer.Deserialize<TalqCmsState>(File.ReadAllBytes(path), Json) ?? new TalqCmsState(), null) : (new TalqCmsState(), null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return (new TalqCmsState(), $"Talq:StateFile '{path}' cannot be read ({ex.Message}): fix or remove it (the gateways then re-announce their devices)");
        }
    }
}

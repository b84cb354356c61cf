using System.Text.Json;
using System.Text.Json.Serialization;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// The level a lamp should burn at (the last command sent to it), re-sent when it is born again. A level of a
/// command with a duration <see cref="Ends"/>, and the lamp then goes back to its schedule's step, else to <see cref="Then"/>.
/// </summary>
public sealed record LampLevel(bool On, double DimPct, string CommandId, DateTimeOffset? Ends = null, LampLevel? Then = null);

/// <summary>One hour of one district's lamps: energy measured, and the same hours at full power, kWh.</summary>
public sealed record EnergyBucket(string District, DateTimeOffset Hour, double MeasuredKwh, double FullKwh);

/// <summary>
/// What lighting control keeps across restarts (<c>Lighting:StateFile</c>): pending commands (so a
/// restart neither re-sends what was confirmed nor forgets what is awaited), the level each lamp
/// should have, the schedule step last sent per schedule, lamps' cabinets, recent history and energy.
/// </summary>
public sealed class LightingState
{
    public Dictionary<string, LampCommand> Pending { get; set; } = new(StringComparer.Ordinal);

    public List<LampCommand> History { get; set; } = [];

    public Dictionary<string, LampLevel> Levels { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Schedule id -> the start of the step whose command was sent.</summary>
    public Dictionary<string, DateTimeOffset> AppliedSteps { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Lamp -> its cabinet (birth <c>parent</c>). Read from the file into <see cref="LampTable"/> by the service, which keeps it empty.</summary>
    public Dictionary<string, string> Parents { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Lamp -> the device time of its last birth, so a retained birth handed out again is no new birth (in <see cref="LampTable"/> while running).</summary>
    public Dictionary<string, DateTimeOffset> Births { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Lamps that did not follow a command (an open <c>command_not_followed</c>): the next one they follow clears it.</summary>
    public HashSet<string> NotFollowed { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Hourly energy per district, the recent ones (older hours are in InfluxDB and in <see cref="Months"/>).</summary>
    public List<EnergyBucket> Energy { get; set; } = [];

    /// <summary>Monthly energy per district ("d01|2026-12"), for the API.</summary>
    public Dictionary<string, EnergyBucket> Months { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>Reads and writes <see cref="LightingState"/> atomically (a new file renamed over the old).</summary>
public sealed class LightingStateFile(string path)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string Path { get; } = path;

    /// <summary>The saved state, an empty one when there is none, or null with the error when it is unreadable.</summary>
    public LightingState? Load(out string? error)
    {
        error = null;
        if (!File.Exists(Path))
        {
            return new LightingState();
        }

        try
        {
            return JsonSerializer.Deserialize<LightingState>(File.ReadAllBytes(Path), Json) ?? new LightingState();
        }
        catch (JsonException ex)
        {
            error = ex.Message;
            return null;
        }
    }

    public void Save(LightingState state) => StateFile.Replace(Path, stream => JsonSerializer.Serialize(stream, state, Json));

    /// <summary>
    /// The same file, its <c>parents</c> and <c>births</c> written from the lamps' records (<paramref name="state"/> holds
    /// them empty): property by property in <see cref="LightingState"/>'s order, as <see cref="Save(LightingState)"/> writes them.
    /// </summary>
    internal void Save(LightingState state, LampTable lamps)
    {
        using var written = Write(state, lamps);
        written.Commit(SyncDirectory);
    }

    /// <summary>The directory fsync that ends a save (a test holds it, as a busy disk does).</summary>
    internal Action<string> SyncDirectory { get; set; } = StateFile.SyncDirectory;

    /// <summary>The first half of <see cref="Save(LightingState, LampTable)"/>: the snapshot in the temporary file, to commit with <see cref="SyncDirectory"/>.</summary>
    internal StateFile.Written Write(LightingState state, LampTable lamps) => StateFile.Write(Path, stream =>
    {
        using var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = Json.Encoder, Indented = Json.WriteIndented });
        writer.WriteStartObject();
        Write(writer, "pending", state.Pending);
        Write(writer, "history", state.History);
        Write(writer, "levels", state.Levels);
        Write(writer, "appliedSteps", state.AppliedSteps);
        writer.WritePropertyName("parents");
        lamps.WriteParents(writer);
        writer.WritePropertyName("births");
        lamps.WriteBirths(writer);
        Write(writer, "notFollowed", state.NotFollowed);
        Write(writer, "energy", state.Energy);
        Write(writer, "months", state.Months);
        writer.WriteEndObject();
    });

    private static void Write<T>(Utf8JsonWriter writer, string name, T? value)
        where T : class
    {
        // As the serializer's WhenWritingNull: a null property (a file saying "pending": null) is left out.
        if (value is not null)
        {
            writer.WritePropertyName(name);
            JsonSerializer.Serialize(writer, value, Json);
        }
    }
}

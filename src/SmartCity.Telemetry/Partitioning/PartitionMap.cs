using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartCity.Telemetry.Partitioning;

/// <summary>
/// The shared partition map (a JSON data file every worker of a deployment reads): the cities of the
/// deployment and the partitions of their topic trees, each owned by one worker identity. See
/// docs/scaling.md and deploy/partitions.example.json.
/// </summary>
public sealed class PartitionMap
{
    public List<CityEntry> Cities { get; set; } = [];

    public List<PartitionEntry> Partitions { get; set; } = [];

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    };

    /// <summary>The map in <paramref name="path"/>, or the reason it cannot be read (a value, not an exception).</summary>
    public static (PartitionMap? Map, string? Error) Load(string path)
    {
        try
        {
            var map = JsonSerializer.Deserialize<PartitionMap>(File.ReadAllText(path), Json);
            return map is null ? (null, $"{path} is empty") : (map, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return (null, $"{path} cannot be read: {ex.Message}");
        }
    }

    public static PartitionMap Parse(string json) => JsonSerializer.Deserialize<PartitionMap>(json, Json)!;

    public CityEntry? City(string? id) => Cities.FirstOrDefault(c => c.Id == id);
}

/// <summary>One city (tenant): its topic root, its InfluxDB bucket, and settings of its own.</summary>
public sealed class CityEntry
{
    public string Id { get; set; } = "";

    /// <summary>The city's topic root, e.g. <c>metropole/lyon</c>: every filter of its partitions lies under it.</summary>
    public string TopicRoot { get; set; } = "";

    /// <summary>InfluxDB bucket (1.x: database) of the city; its data never shares one with another city.</summary>
    public string Bucket { get; set; } = "";

    /// <summary>
    /// The city's districts. When listed, each must be covered by a partition (a district nobody
    /// subscribes to would be lost silently); when not, the city root itself must be covered.
    /// </summary>
    public List<string> Districts { get; set; } = [];

    /// <summary>
    /// Worker settings of this city, as configuration keys: its alerting position, time zone, school
    /// hours and holidays (<c>Alerting:TimeZone</c>, <c>Alerting:SchoolHours:Holidays:0</c>...), its
    /// InfluxDB credentials (<c>Influx:TokenFile</c>). They win over the worker's own settings.
    /// </summary>
    public Dictionary<string, string?> Settings { get; set; } = [];
}

/// <summary>One partition: topic filters under one city's root, owned by one worker identity.</summary>
public sealed class PartitionEntry
{
    public string Id { get; set; } = "";

    public string City { get; set; } = "";

    public List<string> Filters { get; set; } = [];

    /// <summary>The owner's identity: its MQTT client id (persistent session) and its data folder.</summary>
    public string Worker { get; set; } = "";
}

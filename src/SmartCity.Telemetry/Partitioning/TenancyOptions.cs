using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Partitioning;

/// <summary>
/// The city (tenant) this worker serves: set by the partition map (<c>Tenancy:City</c>), or by hand
/// for a worker of one city sharing a broker with others. Unset: a single-city deployment, whose
/// MQTT alert states keep their city-less topics.
/// </summary>
public sealed class TenancyOptions
{
    public const string SectionName = "Tenancy";

    /// <summary>
    /// The city id (as in the partition map): its operators' API keys and console accounts see this
    /// worker, and its retained alert states go under <c>smartcity/alerts/{City}/...</c> so a broker
    /// ACL per city keeps each city's alerts to its own accounts. The default value is null (no city).
    /// </summary>
    [RegularExpression("^[A-Za-z0-9_.\\-]{1,64}$", ErrorMessage = "City must be 1..64 characters of [A-Za-z0-9_.-] (a topic level and a partition map city id).")]
    public string? City { get; set; }
}

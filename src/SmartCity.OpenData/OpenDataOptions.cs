using System.ComponentModel.DataAnnotations;

namespace SmartCity.OpenData;

/// <summary>
/// The citizens' open-data feed (<c>/open-data</c>): what is published, how often it is rebuilt, and the
/// privacy floor. Safe by default: off until a city turns it on, security never exportable, small groups
/// suppressed. See docs/open-data.md.
/// </summary>
public sealed class OpenDataOptions : IValidatableObject
{
    public const string SectionName = "OpenData";

    /// <summary>Sectors that can never be published, whatever the configuration: doors, motion, cameras, alarms, panic buttons.</summary>
    public static readonly string[] ForbiddenSectors = ["security"];

    /// <summary>Device types that can never be published, should one be filed under another sector.</summary>
    public static readonly string[] ForbiddenDeviceTypes = ["door_contact", "motion_detector", "camera", "alarm_panel", "panic_button"];

    /// <summary>Builds the datasets and serves <c>/open-data</c>.</summary>
    /// <value>The default value is false: a city publishes when it decides to.</value>
    public bool Enabled { get; set; }

    /// <summary>How often the datasets are rebuilt from InfluxDB and the device registry.</summary>
    /// <value>The default value is 1 hour.</value>
    [Range(typeof(TimeSpan), "00:01:00", "7.00:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Sectors published: lighting datasets need <c>lighting</c>, school air needs <c>education</c>; service status lists these.</summary>
    /// <value>The default value is empty: lighting and education. <c>security</c> is refused at start.</value>
    /// <remarks>Empty means the defaults because the configuration binder appends to a list, never replaces it.</remarks>
    public List<string> Sectors { get; set; } = [];

    /// <summary>A district with fewer lamps than this is left out of the lighting datasets (counted in the metadata).</summary>
    /// <value>The default value is 5.</value>
    [Range(2, 100_000)]
    public int MinLampsPerDistrict { get; set; } = 5;

    /// <summary>A school with fewer sensors (classrooms) than this is left out, so no figure is one classroom's.</summary>
    /// <value>The default value is 3.</value>
    [Range(2, 10_000)]
    public int MinSensorsPerSchool { get; set; } = 3;

    /// <summary>A sector with fewer devices than this is left out of the service status.</summary>
    /// <value>The default value is 5.</value>
    [Range(2, 1_000_000)]
    public int MinDevicesPerSector { get; set; } = 5;

    /// <summary>Outages raised within this window are published.</summary>
    /// <value>The default value is 30 days.</value>
    [Range(typeof(TimeSpan), "1.00:00:00", "366.00:00:00")]
    public TimeSpan OutageWindow { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Alert rules that mean a dark street: a lamp, its driver, its mains or the whole device.</summary>
    /// <value>The default value is empty: lamp_failure, driver_failure, lamp_dark_at_night, mains_loss, device_offline.</value>
    public List<string> OutageRules { get; set; } = [];

    /// <summary>Device types counted as lamps (group size of a district, energy).</summary>
    /// <value>The default value is empty: streetlight and streetlight_lpwan.</value>
    public List<string> LampDeviceTypes { get; set; } = [];

    public IReadOnlyList<string> EffectiveSectors => Sectors.Count > 0 ? Sectors : ["lighting", "education"];

    public IReadOnlyList<string> EffectiveOutageRules => OutageRules.Count > 0 ? OutageRules : ["lamp_failure", "driver_failure", "lamp_dark_at_night", "mains_loss", "device_offline"];

    public IReadOnlyList<string> EffectiveLampDeviceTypes => LampDeviceTypes.Count > 0 ? LampDeviceTypes : ["streetlight", "streetlight_lpwan"];

    /// <summary>Calendar months of lighting energy published, the current one included.</summary>
    /// <value>The default value is 12.</value>
    [Range(1, 60)]
    public int EnergyMonths { get; set; } = 12;

    /// <summary>ISO weeks (Monday to Sunday, UTC) of school air published, the current one included.</summary>
    /// <value>The default value is 8.</value>
    [Range(1, 104)]
    public int AirQualityWeeks { get; set; } = 8;

    /// <summary>Where the last datasets are kept, so a restarted worker serves them before its first rebuild.</summary>
    /// <value>The default value is empty: <c>open-data</c> beside the alert state file (Alerting:StateFile).</value>
    public string? Directory { get; set; }

    /// <summary>The publisher named in the catalog (the city).</summary>
    /// <value>The default value is "SmartCity".</value>
    [Required]
    public string Publisher { get; set; } = "SmartCity";

    /// <summary>The licence's URI in the catalog.</summary>
    /// <value>The default value is the Licence Ouverte 2.0 (etalab-2.0), the French public sector's open licence.</value>
    [Required]
    public string LicenceUrl { get; set; } = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/";

    /// <summary>The licence's short name (data.gouv.fr's identifier).</summary>
    /// <value>The default value is etalab-2.0.</value>
    [Required]
    public string LicenceName { get; set; } = "etalab-2.0";

    /// <summary>The public address of the worker, for absolute download URLs in the catalog (behind a proxy).</summary>
    /// <value>The default value is empty: the address the request came to.</value>
    public string? PublicBaseUrl { get; set; }

    /// <summary>How long browsers and portals may keep a response (Cache-Control max-age), and the page's output cache.</summary>
    /// <value>The default value is 5 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan CacheDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>A read token for InfluxDB, when the worker's Influx:Token may only write.</summary>
    /// <value>The default value is empty: Influx:Token.</value>
    public string? InfluxToken { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var sector in Sectors.Where(s => ForbiddenSectors.Contains(s.Trim(), StringComparer.OrdinalIgnoreCase)))
        {
            yield return new ValidationResult($"'{sector}' can never be published: door, motion, camera, alarm and panic-button data stay private", [nameof(Sectors)]);
        }

        foreach (var type in LampDeviceTypes.Where(t => ForbiddenDeviceTypes.Contains(t.Trim(), StringComparer.OrdinalIgnoreCase)))
        {
            yield return new ValidationResult($"'{type}' is a security device type and can never be published", [nameof(LampDeviceTypes)]);
        }

        if (!string.IsNullOrEmpty(PublicBaseUrl) && !(Uri.TryCreate(PublicBaseUrl, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
        {
            yield return new ValidationResult("must be an http(s) URL such as https://data.city.example", [nameof(PublicBaseUrl)]);
        }

        if (!Uri.TryCreate(LicenceUrl, UriKind.Absolute, out _))
        {
            yield return new ValidationResult("must be an absolute URI", [nameof(LicenceUrl)]);
        }
    }

    /// <summary>Is <paramref name="sector"/> published? Security never is, whatever <see cref="Sectors"/> says.</summary>
    public bool Publishes(string sector) =>
        !ForbiddenSectors.Contains(sector, StringComparer.OrdinalIgnoreCase) && EffectiveSectors.Contains(sector, StringComparer.OrdinalIgnoreCase);

    /// <summary>Where the datasets are kept: <see cref="Directory"/>, else beside the alert state file.</summary>
    public string ResolveDirectory(string? alertStateFile) =>
        !string.IsNullOrWhiteSpace(Directory)
            ? Directory
            : Path.Combine(Path.GetDirectoryName(alertStateFile ?? "data/alerts.json") is { Length: > 0 } dir ? dir : ".", "open-data");
}

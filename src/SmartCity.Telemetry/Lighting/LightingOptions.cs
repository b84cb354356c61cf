using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// Lighting control: commands to lamps, schedules, confirmation and energy (docs/lighting-control.md).
/// The city's position and time zone for sunset, sunrise and local step times are those of
/// <c>Alerting</c> (one city, one place).
/// </summary>
public sealed class LightingOptions : IValidatableObject
{
    public const string SectionName = "Lighting";

    /// <summary>Pending commands, the level each lamp should have, applied schedule steps and energy totals, kept across restarts.</summary>
    /// <value>The default value is <c>data/lighting.json</c>.</value>
    [Required]
    public string StateFile { get; set; } = "data/lighting.json";

    /// <summary>The schedules file (JSON); none: no schedule, commands only.</summary>
    /// <value>The default value is none.</value>
    public string? SchedulesFile { get; set; }

    /// <summary>A lamp that neither acknowledges a command nor shows its level in telemetry within this time raises <c>command_not_followed</c>.</summary>
    /// <value>The default value is 2 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan ConfirmTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Telemetry within this many percentage points of the commanded level confirms it.</summary>
    /// <value>The default value is 5.</value>
    [Range(0, 50)]
    public double LevelTolerancePct { get; set; } = 5;

    /// <summary>How often timeouts and schedules are looked at.</summary>
    /// <value>The default value is 5 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Lamp commands kept for <c>GET /api/lighting/commands</c> (all of them are in InfluxDB, <c>lighting_command</c>).</summary>
    /// <value>The default value is 5000.</value>
    [Range(10, 1_000_000)]
    public int HistoryLimit { get; set; } = 5000;

    /// <summary>Price of one kWh, for the money saved (in <see cref="Currency"/>).</summary>
    /// <value>The default value is 0.25.</value>
    [Range(0, 100)]
    public decimal TariffPerKwh { get; set; } = 0.25m;

    /// <summary>ISO 4217 code of the tariff's currency.</summary>
    /// <value>The default value is <c>EUR</c>.</value>
    [Required]
    [RegularExpression("^[A-Z]{3}$", ErrorMessage = "Lighting:Currency must be an ISO 4217 code such as EUR")]
    public string Currency { get; set; } = "EUR";

    /// <summary>Gaps between two readings of a lamp longer than this are not counted as energy (the lamp was silent).</summary>
    /// <value>The default value is 30 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan EnergyMaxGap { get; set; } = TimeSpan.FromMinutes(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrWhiteSpace(StateFile))
        {
            yield return new ValidationResult("Lighting:StateFile is required", [nameof(StateFile)]);
        }
    }
}

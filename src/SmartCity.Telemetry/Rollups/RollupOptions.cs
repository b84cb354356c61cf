using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Rollups;

/// <summary>
/// Hourly and daily rollups (README.md here): which bucket they go to, how late data may be, how
/// often closed windows are looked for. The city's day and time zone come from <c>Alerting:TimeZone</c>.
/// </summary>
public sealed class RollupOptions
{
    public const string SectionName = "Rollups";

    /// <summary>Write rollups. Off, the worker writes raw data only.</summary>
    /// <value>The default value is false: turn it on once the rollup bucket exists and the worker's token may use it (docs/retention.md).</value>
    public bool Enabled { get; set; }

    /// <summary>
    /// Bucket (2.x/3.x) or database (1.x) of the rollups, kept longer than the raw data
    /// (docs/retention.md). It must differ from <c>Influx:Bucket</c>, or raw retention would delete them.
    /// </summary>
    /// <value>The default value is <c>smartcity_rollups</c>.</value>
    [Required(ErrorMessage = "is required (the InfluxDB bucket or database of the rollups)")]
    [RegularExpression(@"^[A-Za-z0-9_.\-]{1,64}$", ErrorMessage = "must be 1..64 characters of [A-Za-z0-9_.-]")]
    public string Bucket { get; set; } = "smartcity_rollups";

    /// <summary>
    /// How late a device's data may reach the worker and still be counted: a window is computed once,
    /// when it closed this long ago and the InfluxDB sink has stored everything received until then.
    /// Data whose device time is older than that when it arrives is in the raw data, not in the rollup.
    /// </summary>
    /// <value>The default value is 2 hours.</value>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan Lateness { get; set; } = TimeSpan.FromHours(2);

    /// <summary>How often the worker looks for windows to compute.</summary>
    /// <value>The default value is 5 minutes.</value>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>On the first start (no state file), how far back windows are computed.</summary>
    /// <value>The default value is 2 days.</value>
    [Range(typeof(TimeSpan), "00:00:00", "400.00:00:00")]
    public TimeSpan Backfill { get; set; } = TimeSpan.FromDays(2);

    /// <summary>
    /// A lamp's energy on a day is its meter's last reading of the day minus its last reading before
    /// the day, looked for this far back (a longer silence: minus its first reading of the day).
    /// </summary>
    /// <value>The default value is 2 days.</value>
    [Range(typeof(TimeSpan), "01:00:00", "31.00:00:00")]
    public TimeSpan MeterLookback { get; set; } = TimeSpan.FromDays(2);

    /// <summary>The file that remembers the last window computed per cadence, so a restart neither repeats nor skips one.</summary>
    /// <value>The default value is <c>data/rollups.json</c>.</value>
    [Required(ErrorMessage = "is required (a file path for the rollup state)")]
    public string StateFile { get; set; } = "data/rollups.json";

    /// <summary>Timeout of one query or write.</summary>
    /// <value>The default value is 60 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Raw retention would delete rollups kept in the raw bucket: the two must differ.</summary>
    internal static IEnumerable<string> CheckBuckets(IServiceProvider services)
    {
        try
        {
            var rollups = services.GetRequiredService<IOptions<RollupOptions>>().Value;
            var raw = services.GetRequiredService<IOptions<InfluxSinkOptions>>().Value.Bucket;
            return rollups.Enabled && string.Equals(rollups.Bucket, raw, StringComparison.Ordinal)
                ? [$"{SectionName}:Bucket: must differ from Influx:Bucket ('{raw}'): the rollups outlive the raw data (docs/retention.md)"]
                : [];
        }
        catch (OptionsValidationException)
        {
            // Reported by the sections' own checks.
            return [];
        }
    }
}

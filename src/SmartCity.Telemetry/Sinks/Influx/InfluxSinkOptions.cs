using System.ComponentModel.DataAnnotations;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>Where and how points are written. InfluxDB 2.x/3.x natively; 1.x through a v2 write shim.</summary>
public sealed class InfluxSinkOptions : IValidatableObject
{
    public const string SectionName = "Influx";

    /// <summary>Base URL of the InfluxDB v2 HTTP API (<c>/api/v2/write</c> and <c>/query</c> live under it).</summary>
    [Required(ErrorMessage = "is required (the InfluxDB URL, for example http://127.0.0.1:8086)")]
    [Url(ErrorMessage = "must be an absolute http(s) URL")]
    public string? Url { get; set; }

    /// <summary>API token (InfluxDB 2.x/3.x). Never logged.</summary>
    [Required(ErrorMessage = "is required (an InfluxDB API token with write access to the bucket)")]
    [Diagnostics.NotPlaceholder]
    public string? Token { get; set; }

    [Required(ErrorMessage = "is required (the InfluxDB organisation)")]
    public string? Org { get; set; }

    /// <summary>Bucket (2.x/3.x) or database (1.x) for telemetry, dead letters and pipeline points.</summary>
    [Required(ErrorMessage = "is required (the InfluxDB bucket or database)")]
    [RegularExpression(@"^[A-Za-z0-9_.\-]{1,64}$", ErrorMessage = "must be 1..64 characters of [A-Za-z0-9_.-]")]
    public string? Bucket { get; set; }

    /// <summary>
    /// Create the bucket/database at start when it does not exist (InfluxQL <c>CREATE DATABASE</c>:
    /// InfluxDB 1.x, or a token allowed to). Off, a missing one is reported in /healthz and a Critical
    /// log while the data waits in the spool.
    /// </summary>
    /// <value>The default value is false.</value>
    public bool CreateBucket { get; set; }

    /// <summary>Most lines in one write request.</summary>
    /// <value>The default value is 5000.</value>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 5_000;

    /// <summary>
    /// How long the oldest record of a batch may wait for more before the batch is written. Every
    /// write request costs the database a fixed price (an HTTP request, a WAL fsync) whatever its
    /// size: written the moment they reached the disk, 2,000 msg/s became 170 writes of 35 lines a
    /// second and took more CPU than the data (docs/performance.md). A backlog fills
    /// <see cref="BatchSize"/> at once and never waits; 0 writes every record as soon as it is read.
    /// </summary>
    /// <value>The default value is 100 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10")]
    public TimeSpan BatchLinger { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A short batch that holds this many records lingers only half of <see cref="BatchLinger"/>. The full
    /// linger is the largest share of a point's device-to-stored time at 4,000 msg/s (docs/performance.md);
    /// with this, the linger shrinks with the rate (at the defaults: 100 ms up to 2,000 msg/s, the time of
    /// 200 records above, never under 50 ms), so a write still carries at least this many records and the
    /// writes per second grow at most twofold. 0 keeps the full linger at every rate.
    /// </summary>
    /// <value>The default value is 200.</value>
    [Range(0, 100_000)]
    public int BatchLingerRecords { get; set; } = 200;

    /// <summary>
    /// Batches written at the same time. With more than one, the records behind a slow write are
    /// written meanwhile instead of waiting for it; the spool's cursor still moves in order.
    /// </summary>
    /// <value>The default value is 2.</value>
    [Range(1, 16)]
    public int MaxWritesInFlight { get; set; } = 2;

    /// <summary>Timeout of one write request.</summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>First delay between retries of a failed write; grows exponentially with jitter.</summary>
    /// <value>The default value is 200 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest delay between retries (also the pace while the database refuses our credentials).</summary>
    /// <value>The default value is 30 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Most points written per second (a backlog after an outage drains at this pace); 0 = no limit.</summary>
    /// <value>The default value is 0.</value>
    [Range(0, 10_000_000)]
    public int MaxPointsPerSecond { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (RetryBaseDelay > RetryMaxDelay)
        {
            yield return new ValidationResult("must not be greater than RetryMaxDelay", [nameof(RetryBaseDelay)]);
        }

        if (Url is not null && Uri.TryCreate(Url, UriKind.Absolute, out var uri) && uri.Scheme is not ("http" or "https"))
        {
            yield return new ValidationResult("must use http or https", [nameof(Url)]);
        }
    }
}

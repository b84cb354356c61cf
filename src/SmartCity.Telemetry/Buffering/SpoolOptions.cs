using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The durable spool between ingestion and storage: a write-ahead log on local disk. A message is
/// acknowledged to the broker once its record is on disk (fsync), so a killed worker or a down
/// database loses nothing the worker accepted.
/// </summary>
public sealed class SpoolOptions : IValidatableObject
{
    public const string SectionName = "Spool";

    /// <summary>Folder of the spool's segment files; must be on local persistent storage, one per worker.</summary>
    /// <value>The default value is <c>data/spool</c> (relative to the working directory).</value>
    [Required]
    public string Directory { get; set; } = "data/spool";

    /// <summary>Size at which a segment file is closed and the next one started; consumed segments are deleted whole.</summary>
    /// <value>The default value is 16 MiB.</value>
    [Range(64 * 1024, 1024L * 1024 * 1024)]
    public long SegmentBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>
    /// Bound on the spool's size on disk. At the bound the worker stops taking messages from the
    /// broker (they wait, unacknowledged, in the broker's persistent session) until storage catches
    /// up; this is counted, logged and reported by /healthz. Nothing already accepted is dropped.
    /// </summary>
    /// <value>The default value is 1 GiB.</value>
    [Range(128 * 1024, long.MaxValue)]
    public long MaxBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>
    /// Records older than this when storage finally reads them are expired instead of written
    /// (counted and logged as errors): data from an outage longer than this is considered stale.
    /// </summary>
    /// <value>The default value is 7 days.</value>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Flush to the disk device (fsync) before acknowledging. Turning it off trades crash safety for speed.</summary>
    /// <value>The default value is <c>true</c>.</value>
    public bool Fsync { get; set; } = true;

    /// <summary>
    /// Shortest time between two fsyncs. Messages that arrive meanwhile wait and share the next one
    /// (group commit), so a steady trickle does not cost one fsync per message: at 2,000 msg/s one per
    /// message kept the disk busy enough to hold InfluxDB's own WAL writes for seconds
    /// (docs/performance.md). Adds at most this much before a message is acknowledged; 0 syncs as
    /// soon as a message is there. Only applies with <see cref="Fsync"/> on. 25 ms (was 10): at a
    /// city's paced rates each group commit also costs wake-ups of the writer, the acks and the sink,
    /// so 40 instead of 100 groups a second at 2,000 msg/s; the 15 ms more before an ack are small
    /// against the 250 ms device-to-stored budget (the sink's 100 ms linger dominates), and a faster
    /// stream does not wait for it (<see cref="CommitGroup"/>).
    /// </summary>
    /// <value>The default value is 25 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01")]
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>
    /// Records that end the <see cref="CommitInterval"/> wait early: once this many are queued the
    /// group is written and synced at once, so at full rate a group commit is as large as the disk
    /// needs, not as old as the interval (adaptive group commit). Capped by <see cref="CommitBatch"/>.
    /// </summary>
    /// <value>The default value is 1,000 (a tenth of the MQTT receive window, Mqtt:ReceiveMaximum).</value>
    [Range(1, 1_000_000)]
    public int CommitGroup { get; set; } = 1_000;

    /// <summary>Most records written and synced together (group commit).</summary>
    /// <value>The default value is 4096.</value>
    [Range(1, 1_000_000)]
    public int CommitBatch { get; set; } = 4096;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SegmentBytes > MaxBytes)
        {
            yield return new ValidationResult("must not be greater than Spool:MaxBytes", [nameof(SegmentBytes)]);
        }
    }
}

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// What the spool reports. It lives at the bottom with the counters that implement it
/// (<see cref="PipelineMetrics"/>), so the spool uses Diagnostics and Diagnostics uses nothing above it.
/// </summary>
public interface ISpoolMetrics
{
    /// <summary>Messages acknowledged to the broker once durable.</summary>
    void Acknowledged(int count);

    /// <summary>Signals waiters that a batch finished; called once per batch, not per message.</summary>
    void NotifyProgress();

    /// <summary>Intake paused (the size bound is reached) or resumed.</summary>
    void SpoolFull(bool full);

    void SpoolExpired(int records);

    void SpoolCorrupt();

    /// <summary>The spool's stage counters: received = messages taken in, sent = records made durable.</summary>
    StageCounters SpoolStage { get; }

    /// <summary>Gives the gauges (depth, bytes, oldest age) the spool to read them from.</summary>
    void ObserveSpool(ISpoolGauges spool);
}

/// <summary>The spool's levels, read by the gauges and the snapshot (the durable spool implements it).</summary>
public interface ISpoolGauges
{
    /// <summary>Records on disk not yet stored.</summary>
    long Depth { get; }

    long BytesOnDisk { get; }

    /// <summary>Age of the oldest record not yet stored.</summary>
    TimeSpan OldestAge { get; }
}

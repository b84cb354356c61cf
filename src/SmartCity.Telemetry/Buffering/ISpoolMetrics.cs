namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// What the spool reports, owned here so the spool needs nothing from the pipeline's namespace
/// (the pipeline's metrics implement it; the dependency runs one way, Pipeline to Buffering).
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

    /// <summary>Gives the gauges (depth, bytes, oldest age) the spool to read them from.</summary>
    void ObserveSpool(DurableSpool spool);
}

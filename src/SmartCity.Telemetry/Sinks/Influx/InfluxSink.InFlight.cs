namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>How many writes may be in flight: a budget of records, so short batches behind a slow write go meanwhile.</summary>
public sealed partial class InfluxSink
{
    /// <summary>Writes in flight at most, however short: a bound on the requests one stall can pile up at the database.</summary>
    internal const int MostWritesInFlight = 16;

    /// <summary>
    /// Whether another batch may be read and written before the oldest write ends. <see cref="InfluxSinkOptions.MaxWritesInFlight"/>
    /// counts full batches: the records in flight plus a full batch more stay within that many batches' records. Counted in
    /// writes, it let one batch through behind a slow write, and at a paced rate every batch is short (400 lines at
    /// 4,000 msg/s and the 100 ms linger): a write InfluxDB held for a second (a cache snapshot, a compaction, a busy disk)
    /// held the 10 batches after it in the spool, and then their backlog went as one long write, so their points were
    /// stored after the stall plus that write. Now they are written while it lasts, as they come, and InfluxDB has them
    /// when it resumes. A backlog reads full batches, and those stay at <see cref="InfluxSinkOptions.MaxWritesInFlight"/>
    /// as before (and 1 still means one write at a time); the bodies in flight hold the same bytes at most.
    /// </summary>
    private bool MayStartAnotherWrite(Queue<InFlightWrite> inFlight)
    {
        if (inFlight.Count == 0)
        {
            return true;
        }

        if (inFlight.Count >= MostWritesInFlight)
        {
            return false;
        }

        long records = 0;
        foreach (var write in inFlight)
        {
            records += write.Batch.Records;
        }

        return records + _options.BatchSize <= (long)_options.MaxWritesInFlight * _options.BatchSize;
    }
}

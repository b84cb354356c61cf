using SmartCity.Telemetry.Buffering;

namespace SmartCity.Telemetry.Rollups;

/// <summary>
/// Up to when the raw data in InfluxDB is complete: a window's data may still sit in the spool behind
/// an InfluxDB outage, and a rollup computed then would miss it. At each look the spool's durable
/// end is marked; once the InfluxDB sink's cursor has committed past a mark, everything the worker had
/// received at that moment is in InfluxDB. Exact, whatever the backlog, without reading the spool.
/// </summary>
internal sealed class SinkProgress(Func<(SpoolPosition DurableEnd, SpoolPosition Stored, bool AllStored)> progress)
{
    private (SpoolPosition Position, DateTimeOffset At)? _pending;
    private DateTimeOffset _complete = DateTimeOffset.MinValue;

    public SinkProgress(DurableSpool spool)
        : this(spool.DefaultCursorProgress)
    {
    }

    /// <summary>Everything the worker received before the returned time is in InfluxDB (<paramref name="now"/> when nothing waits).</summary>
    public DateTimeOffset CompleteUntil(DateTimeOffset now)
    {
        var (end, committed, allStored) = progress();
        if (allStored)
        {
            _pending = null;
            _complete = now;
            return _complete;
        }

        if (_pending is { } p && committed >= p.Position)
        {
            _complete = p.At;
            _pending = null;
        }

        _pending ??= (end, now);
        return _complete;
    }
}

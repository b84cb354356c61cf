using System.Diagnostics;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>
/// The trace of one spool batch: a root span <c>smartcity.batch</c> from the receipt of its oldest
/// message to the commit, a child <c>smartcity.spool</c> for the time it spent decoded and durable on
/// disk waiting to be read (its receipt to the end of the batch's linger), and a child
/// <c>smartcity.influx.write</c> for the write itself. Per batch, never per message: decode is
/// microseconds per message and a span each would cost more than the work it measures.
/// </summary>
internal sealed class BatchTrace
{
    private readonly Activity _batch;
    private readonly Activity? _write;

    private BatchTrace(Activity batch, Activity? write)
    {
        _batch = batch;
        _write = write;
    }

    /// <summary>Null (and no allocation) when nobody listens to <see cref="PipelineTracing.SourceName"/>.</summary>
    public static BatchTrace? Start(SpoolBatch batch, TimeProvider time)
    {
        if (!PipelineTracing.Source.HasListeners())
        {
            return null;
        }

        // A trace of its own per batch, whatever the caller's ambient activity. This method is
        // synchronous inside the sink's async StartWriteAsync, whose return restores Activity.Current.
        Activity.Current = null;
        var received = new DateTimeOffset(batch.OldestTicks, TimeSpan.Zero).UtcDateTime;
        var root = PipelineTracing.Source.StartActivity("smartcity.batch", ActivityKind.Internal, parentContext: default, startTime: received);
        if (root is null)
        {
            return null;
        }

        root.SetTag("smartcity.batch.records", batch.Records);
        root.SetTag("smartcity.batch.lines", batch.LineCount);
        root.SetTag("smartcity.batch.dead_letters", batch.DeadLetters);
        using (var spooled = PipelineTracing.Source.StartActivity("smartcity.spool", ActivityKind.Internal, root.Context, startTime: received))
        {
            spooled?.SetTag("smartcity.spool.segment", batch.End.Segment);
        }

        var write = PipelineTracing.Source.StartActivity("smartcity.influx.write", ActivityKind.Client, root.Context, startTime: time.GetUtcNow());
        return new BatchTrace(root, write);
    }

    /// <summary>The write ended (after <paramref name="took"/>) and the batch is committed.</summary>
    public void Complete(TimeSpan took, int refused)
    {
        if (_write is not null)
        {
            _write.SetTag("smartcity.influx.refused_lines", refused);
            _write.SetEndTime(_write.StartTimeUtc + took);
            _write.Stop();
        }

        _batch.SetTag("smartcity.batch.refused_lines", refused);
        _batch.Stop();
    }

    /// <summary>The worker stopped before the batch was stored: it stays in the spool for the next start.</summary>
    public void Abandon()
    {
        _write?.SetStatus(ActivityStatusCode.Error, "abandoned at stop").Stop();
        _batch.SetStatus(ActivityStatusCode.Error, "abandoned at stop; the batch stays in the spool").Stop();
    }
}

using SmartCity.Telemetry.Buffering;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>
/// A second sink as the spool sees it, a folder plus a cursor: reads its own named cursor of the
/// spool the InfluxDB sink reads, keeps every line in memory and commits each batch. Test-only.
/// </summary>
internal sealed class CursorSink(SpoolCursor cursor)
{
    private readonly List<string> _lines = [];

    /// <summary>Every line read, in order (read it once <see cref="RunAsync"/> has returned).</summary>
    public IReadOnlyList<string> Lines => _lines;

    /// <summary>Reads and commits until the spool's intake has ended and everything is read.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            using var batch = await cursor.ReadBatchAsync(100, cancellationToken);
            _lines.AddRange(batch.DecodeLines());
            cursor.Commit(batch);
            if (batch.IsFinal)
            {
                return;
            }
        }
    }
}

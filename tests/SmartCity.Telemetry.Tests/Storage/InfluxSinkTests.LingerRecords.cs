namespace SmartCity.Telemetry.Tests.Storage;

/// <summary>
/// Influx:BatchLingerRecords: a short batch that holds that many records lingers half of Influx:BatchLinger, so the
/// linger shrinks with the rate (the largest share of a point's device-to-stored time at 4,000 msg/s) while a write
/// still carries at least that many records. The fake clock never passes the full linger in these tests: a batch that
/// waited for it would never be written, and the wait for the write would time out.
/// </summary>
public sealed partial class InfluxSinkTests
{
    [Fact]
    public async Task LingerRecords_BatchReachesThemBeforeHalfTheLinger_WrittenAtHalfTheLingerNotBefore()
    {
        await UseSinkAsync(batchSize: 100, linger: TimeSpan.FromMilliseconds(100), lingerRecords: 4);
        await EnqueueAsync(Message("m f=1 1"), Message("m f=2 2"), Message("m f=3 3"), Message("m f=4 4"));
        await _metrics.WaitUntilAsync(s => s.Acknowledged == 4, Timeout);
        _time.Advance(TimeSpan.FromMilliseconds(40));
        await EnqueueAsync(Message("m f=5 5"));
        await _metrics.WaitUntilAsync(s => s.Acknowledged == 5, Timeout);

        // Half the linger (50 ms) has passed, the full one (100 ms) never does. Had the four gone before 50 ms, the
        // fifth (received at 40 ms, alone: due at 140 ms) would never be written.
        _time.Advance(TimeSpan.FromMilliseconds(20));

        await _metrics.WaitUntilAsync(s => s.PointsWritten == 5, Timeout);
        Assert.Equal(1, _writer.Attempts);
        Assert.Equal(["m f=1 1", "m f=2 2", "m f=3 3", "m f=4 4", "m f=5 5"], _writer.Stored);
    }

    [Fact]
    public async Task LingerRecords_FewerThanThemAtHalfTheLinger_BatchWaitsAndGoesWhenTheyArrive()
    {
        await UseSinkAsync(batchSize: 100, linger: TimeSpan.FromMilliseconds(100), lingerRecords: 4);
        await EnqueueAsync(Message("m f=1 1"), Message("m f=2 2"), Message("m f=3 3"));
        await _metrics.WaitUntilAsync(s => s.Acknowledged == 3, Timeout);

        // Three records at 60 ms: they keep lingering (had they gone, the fourth would wait for its own linger,
        // which the clock never reaches). The fourth arrives past half the linger: the batch goes with it at once.
        _time.Advance(TimeSpan.FromMilliseconds(60));
        await EnqueueAsync(Message("m f=4 4"));

        await _metrics.WaitUntilAsync(s => s.PointsWritten == 4, Timeout);
        Assert.Equal(1, _writer.Attempts);
        Assert.Equal(["m f=1 1", "m f=2 2", "m f=3 3", "m f=4 4"], _writer.Stored);
    }
}

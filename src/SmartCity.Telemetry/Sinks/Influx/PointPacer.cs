namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>
/// Holds writes to Influx:MaxPointsPerSecond: a backlog (after an outage) drains at most at that
/// pace, so the database that just came back is not flattened by it. 0 means no limit.
/// </summary>
internal sealed class PointPacer(int maxPointsPerSecond, TimeProvider time)
{
    private long _pointsThisSecond;
    private long _secondStarted = time.GetTimestamp();

    /// <summary>Counts <paramref name="points"/> just sent and waits until the pace allows them.</summary>
    public async Task PaceAsync(int points, CancellationToken cancellationToken)
    {
        if (maxPointsPerSecond <= 0)
        {
            return;
        }

        _pointsThisSecond += points;
        var elapsed = time.GetElapsedTime(_secondStarted);
        var due = TimeSpan.FromSeconds((double)_pointsThisSecond / maxPointsPerSecond);
        if (due > elapsed)
        {
            await Task.Delay(due - elapsed, time, cancellationToken).ConfigureAwait(false);
        }

        if (time.GetElapsedTime(_secondStarted) >= TimeSpan.FromSeconds(1))
        {
            _pointsThisSecond = 0;
            _secondStarted = time.GetTimestamp();
        }
    }
}

namespace SmartCity.Telemetry.Alerting;

/// <summary>
/// The time an <c>alert_transition</c> point is written at. Two steps of one alert can fall in the same
/// millisecond (a replayed burst raises an alarm and clears it at once), and dashboards take each alert's
/// last step ("open now" is the latest transition per device and rule): on a tie InfluxDB may return the
/// raise, showing a cleared alert as open. So each step is written at least one millisecond after the one
/// before it. The time is computed from the alert's history alone, so a step written again (a replay
/// after a crash) lands on the same time and overwrites itself.
/// </summary>
public static class TransitionTime
{
    public static DateTimeOffset Of(Alert alert, AlertHistoryEntry entry)
    {
        long? previous = null;
        foreach (var step in alert.History)
        {
            var at = step.At.ToUnixTimeMilliseconds();
            var written = previous is { } p && at <= p ? p + 1 : at;
            if (step == entry)
            {
                return DateTimeOffset.FromUnixTimeMilliseconds(written);
            }

            previous = written;
        }

        // Not a step of the history (nothing emits such a transition today): its own time.
        return DateTimeOffset.FromUnixTimeMilliseconds(entry.At.ToUnixTimeMilliseconds());
    }
}

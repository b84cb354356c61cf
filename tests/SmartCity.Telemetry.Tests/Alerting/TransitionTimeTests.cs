using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;

namespace SmartCity.Telemetry.Tests.Alerting;

public sealed class TransitionTimeTests
{
    private static readonly DateTimeOffset T = new(2026, 12, 3, 2, 30, 0, TimeSpan.Zero);

    private static Alert WithHistory(params AlertHistoryEntry[] history) => new()
    {
        Id = "a-1",
        DeviceId = "panel-000002",
        Rule = "intrusion_alarm",
        ProfileId = "alarm_panel",
        Severity = AlertSeverity.Critical,
        Sector = "security",
        District = "north",
        Site = "school-1",
        RaisedAt = T,
        History = history,
    };

    [Fact]
    public void ToPoint_RaisedAndClearedInTheSameMillisecond_ClearIsWrittenAfterTheRaise()
    {
        // A replayed burst: the alarm and its clear handled within one millisecond of the engine's clock.
        var raised = new AlertHistoryEntry(AlertTransitionKind.Raised, T.AddTicks(1));
        var resolved = new AlertHistoryEntry(AlertTransitionKind.Resolved, T.AddTicks(2));
        var alert = WithHistory(raised, resolved);

        var raisedAt = AlertingService.ToPoint(new AlertTransition(alert, raised, false)).Timestamp;
        var resolvedAt = AlertingService.ToPoint(new AlertTransition(alert, resolved, false)).Timestamp;

        Assert.Equal(T, raisedAt);
        Assert.Equal(T.AddMilliseconds(1), resolvedAt);
    }

    [Fact]
    public void Of_StepsInDistinctMilliseconds_KeepTheirOwnTimes_AndATieChainsOn()
    {
        var raised = new AlertHistoryEntry(AlertTransitionKind.Raised, T);
        var acknowledged = new AlertHistoryEntry(AlertTransitionKind.Acknowledged, T, "anna");
        var commented = new AlertHistoryEntry(AlertTransitionKind.Commented, T.AddTicks(5_000), "anna", "on site");
        var resolved = new AlertHistoryEntry(AlertTransitionKind.Resolved, T.AddSeconds(10));
        var alert = WithHistory(raised, acknowledged, commented, resolved);

        Assert.Equal(
            [T, T.AddMilliseconds(1), T.AddMilliseconds(2), T.AddSeconds(10)],
            alert.History.Select(step => TransitionTime.Of(alert, step)));
    }
}

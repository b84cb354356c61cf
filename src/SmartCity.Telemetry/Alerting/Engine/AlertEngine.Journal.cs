using SmartCity.Telemetry.Alerting.State;

namespace SmartCity.Telemetry.Alerting.Engine;

public sealed partial class AlertEngine
{
    /// <summary>
    /// Journals <paramref name="transitions"/> (those of one call, so on the thread that made them):
    /// each alert as it now is, with its rule's state, which holds the open alert's id a restart needs
    /// to continue the alert rather than raise a new one.
    /// </summary>
    internal void Journal(IReadOnlyList<AlertTransition> transitions, AlertJournal journal)
    {
        foreach (var t in transitions)
        {
            if (t.Kind == AlertTransitionKind.Removed)
            {
                journal.Remove(t.Alert.Id);
                continue;
            }

            _rules.TryGetValue((t.Alert.DeviceId, t.Alert.Rule), out var rule);
            journal.Put(_alerts.GetValueOrDefault(t.Alert.Id) ?? t.Alert, rule);
        }
    }

    /// <summary>At start, after the state file: the journals' alerts and rule states on top. Lines applied (a save is due when any) and skipped.</summary>
    internal (int Applied, int Skipped) Replay(AlertJournal journal)
    {
        lock (_gate)
        {
            var (applied, skipped) = journal.Replay(
                (alert, rule) =>
                {
                    _alerts[alert.Id] = alert;
                    if (rule is not null)
                    {
                        _rules[(rule.DeviceId, rule.Rule)] = rule;
                    }
                },
                id => _alerts.Remove(id));
            _dirty |= applied > 0;
            return (applied, skipped);
        }
    }
}

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Alerting.State;

namespace SmartCity.Telemetry.Alerting.Engine;

public sealed partial class AlertEngine
{
    private void Raise(AlertRule rule, RuleAlertState rs, DeviceAlertState device, DateTimeOffset at, double? value, string comment, List<AlertTransition> output, DateTimeOffset? deviceTime = null)
    {
        at = AfterLastAlert(rs, at);
        var id = NewId(device.Identity.DeviceId, rule.Rule, at);
        var startedFlapping = CountFlap(rs, at);
        var entry = new AlertHistoryEntry(AlertTransitionKind.Raised, at, null, comment, value, deviceTime);
        var alert = new Alert
        {
            Id = id,
            DeviceId = device.Identity.DeviceId,
            Rule = rule.Rule,
            ProfileId = rule.ProfileId,
            Severity = rule.Severity,
            Sector = device.Identity.Sector,
            District = device.Identity.District,
            Site = device.Identity.Site,
            Description = rule.Description,
            RaisedAt = at,
            LastOccurrenceAt = at,
            LastOccurrenceDeviceTime = deviceTime,
            Flapping = rs.Flapping,
            History = [entry],
        };
        rs.OpenAlertId = id;
        rs.LastAlertId = id;
        rs.ConditionSince = null;
        rs.ConditionSinceReceived = null;
        if (rule.Groups.Count > 0)
        {
            alert = alert with { Affected = AdoptPendingChildren(device.Identity.DeviceId, rule) };
        }

        Emit(alert, entry, suppressed: rs.Flapping, output);
        if (startedFlapping)
        {
            FlappingStarted(alert, at, output);
        }
    }

    private void Resolve(Alert alert, RuleAlertState rs, DateTimeOffset at, string? by, string? comment, double? value, List<AlertTransition> output, DateTimeOffset? deviceTime = null)
    {
        // Operators do not flap; only the engine's own raise/resolve cycles count.
        var startedFlapping = by is null && CountFlap(rs, at);
        var entry = new AlertHistoryEntry(AlertTransitionKind.Resolved, at, by, comment, value, deviceTime);
        var resolved = Append(alert, entry) with { State = AlertState.Resolved, ResolvedAt = at, ResolvedBy = by, Flapping = rs.Flapping };
        rs.OpenAlertId = null;
        rs.ConditionSince = null;
        rs.ConditionSinceReceived = null;
        if (by is not null)
        {
            rs.ArmedAt = at;
        }

        Emit(resolved, entry, suppressed: by is null && rs.Flapping, output);
        if (startedFlapping)
        {
            FlappingStarted(resolved, at, output);
        }
    }

    private void FlappingStarted(Alert alert, DateTimeOffset at, List<AlertTransition> output)
    {
        var entry = new AlertHistoryEntry(AlertTransitionKind.FlappingStarted, at, Comment:
            $"more than {_options.Flapping.MaxTransitions} raises and resolves within {RuleTime.Format(_options.Flapping.Window)}: notifications paused until quiet for as long");
        Emit(Append(_alerts[alert.Id], entry) with { Flapping = true }, entry, suppressed: false, output);
    }

    /// <summary>Records a raise or resolve; true when this one makes the rule flap.</summary>
    private bool CountFlap(RuleAlertState rs, DateTimeOffset at)
    {
        (rs.FlapTimes ??= []).Add(at);
        Prune(rs, at);
        if (!rs.Flapping && rs.FlapTimes.Count > _options.Flapping.MaxTransitions)
        {
            rs.Flapping = true;
            return true;
        }

        return false;
    }

    private int Prune(RuleAlertState rs, DateTimeOffset now)
    {
        if (rs.FlapTimes is null)
        {
            return 0;
        }

        rs.FlapTimes.RemoveAll(t => t <= now - _options.Flapping.Window);
        return rs.FlapTimes.Count;
    }

    private AlertTransition Emit(Alert alert, AlertHistoryEntry entry, bool suppressed, List<AlertTransition>? output)
    {
        _alerts[alert.Id] = alert;
        _dirty = true;
        var t = new AlertTransition(alert, entry, suppressed);
        output?.Add(t);
        return t;
    }

    /// <summary>
    /// A raise no earlier than one millisecond after the last step of the rule's previous alert on the device. Both
    /// alerts are written to the same alert_transition series (same tags), so in a replayed backlog handled within
    /// one millisecond the second alert's steps would land on the first's times and overwrite them in InfluxDB.
    /// </summary>
    private DateTimeOffset AfterLastAlert(RuleAlertState rs, DateTimeOffset at)
    {
        if (rs.LastAlertId is { } lastId && _alerts.TryGetValue(lastId, out var last) && last.History is [.., var lastStep])
        {
            var lastWritten = TransitionTime.Of(last, lastStep);
            return at > lastWritten ? at : lastWritten.AddMilliseconds(1);
        }

        return at;
    }

    private string NewId(string deviceId, string rule, DateTimeOffset at)
    {
        // Deterministic, so the same history replayed gives the same ids; a counter only if one
        // device raises the same rule twice within the same tick.
        for (var n = 0; ; n++)
        {
            var key = $"{deviceId}\n{rule}\n{at.UtcTicks.ToString(CultureInfo.InvariantCulture)}\n{n.ToString(CultureInfo.InvariantCulture)}";
            var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)).AsSpan(0, 8));
            if (!_alerts.ContainsKey(id))
            {
                return id;
            }
        }
    }

    private static Alert Append(Alert alert, AlertHistoryEntry entry) => alert with { History = [.. alert.History, entry] };

    /// <summary>Critical alerts nobody acknowledged escalate; resolved ones kept long enough are forgotten.</summary>
    private void EscalateAndForget(DateTimeOffset now, List<AlertTransition> output)
    {
        foreach (var alert in _alerts.Values.ToList())
        {
            if (alert is { Severity: AlertSeverity.Critical, State: AlertState.Raised, Escalated: false }
                && now - alert.RaisedAt >= _options.EscalateCriticalAfter)
            {
                var entry = new AlertHistoryEntry(AlertTransitionKind.Escalated, now, Comment: $"critical and not acknowledged for {RuleTime.Format(_options.EscalateCriticalAfter)}");
                Emit(Append(alert, entry) with { Escalated = true }, entry, suppressed: false, output);
            }
            else if (alert.State == AlertState.Resolved && alert.ResolvedAt < now - _options.KeepResolvedFor)
            {
                _alerts.Remove(alert.Id);
                _dirty = true;
                // Reported so the retained MQTT state goes too: the broker would otherwise keep every alert ever raised.
                output.Add(new AlertTransition(alert, new AlertHistoryEntry(AlertTransitionKind.Removed, now, Comment: $"resolved more than {RuleTime.Format(_options.KeepResolvedFor)} ago: forgotten"), Suppressed: false));
            }
        }
    }

    /// <summary>Rules quiet for the flapping window stop flapping: notifications resume.</summary>
    private void FlappingSettled(DateTimeOffset now, List<AlertTransition> output)
    {
        foreach (var rs in _rules.Values)
        {
            if (rs.Flapping && Prune(rs, now) == 0)
            {
                rs.Flapping = false;
                _dirty = true;
                if (rs.LastAlertId is { } id && _alerts.TryGetValue(id, out var last))
                {
                    var entry = new AlertHistoryEntry(AlertTransitionKind.FlappingStopped, now, Comment: $"quiet for {RuleTime.Format(_options.Flapping.Window)}: notifications resume");
                    Emit(Append(last, entry) with { Flapping = false }, entry, suppressed: false, output);
                }
            }
        }
    }
}

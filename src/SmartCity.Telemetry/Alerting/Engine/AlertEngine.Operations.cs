using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Alerting.Engine;

public sealed partial class AlertEngine
{
    public AlertOperationResult Acknowledge(string id, string who, string? comment)
    {
        lock (_gate)
        {
            if (Check(id, who, mustBeOpen: true) is { } refused)
            {
                return refused;
            }

            var alert = _alerts[id];
            if (alert.State == AlertState.Acknowledged)
            {
                return AlertOperationResult.Refused(AlertOperationError.AlreadyAcknowledged, $"alert {id} was already acknowledged by {alert.AcknowledgedBy} at {alert.AcknowledgedAt:O}", alert);
            }

            var now = _time.GetUtcNow();
            var entry = new AlertHistoryEntry(AlertTransitionKind.Acknowledged, now, who, comment);
            var result = Emit(Append(alert, entry) with { State = AlertState.Acknowledged, AcknowledgedBy = who, AcknowledgedAt = now, AcknowledgedComment = comment }, entry, suppressed: false, null);
            SaveIf(true);
            return AlertOperationResult.Done(result);
        }
    }

    /// <summary>
    /// An operator closes the alert. If the condition still holds it is raised again (a new
    /// alert) once it has held for the rule's <c>for</c> from the next reading: a resolve that
    /// hides a live failure must not silence it for good.
    /// </summary>
    public AlertOperationResult Resolve(string id, string who, string? comment)
    {
        lock (_gate)
        {
            if (Check(id, who, mustBeOpen: true) is { } refused)
            {
                return refused;
            }

            var alert = _alerts[id];
            var rs = RuleState(alert.DeviceId, alert.Rule);
            var output = new List<AlertTransition>(1);
            Resolve(alert, rs, _time.GetUtcNow(), who, comment, null, output);
            SaveIf(true);
            return AlertOperationResult.Done(output[0]);
        }
    }

    /// <summary>A note on the alert's timeline; allowed after it is resolved too (the post-mortem).</summary>
    public AlertOperationResult Comment(string id, string who, string text)
    {
        lock (_gate)
        {
            if (Check(id, who, mustBeOpen: false) is { } refused)
            {
                return refused;
            }

            if (string.IsNullOrWhiteSpace(text))
            {
                return AlertOperationResult.Refused(AlertOperationError.MissingText, "a comment needs text", _alerts[id]);
            }

            var entry = new AlertHistoryEntry(AlertTransitionKind.Commented, _time.GetUtcNow(), who, text);
            var result = Emit(Append(_alerts[id], entry), entry, suppressed: false, null);
            SaveIf(true);
            return AlertOperationResult.Done(result);
        }
    }

    public Alert? Find(string id)
    {
        lock (_gate)
        {
            return _alerts.GetValueOrDefault(id);
        }
    }

    /// <summary>Open alerts (raised or acknowledged), oldest first.</summary>
    public IReadOnlyList<Alert> OpenAlerts()
    {
        lock (_gate)
        {
            return [.. _alerts.Values.Where(a => a.IsOpen).OrderBy(a => a.RaisedAt).ThenBy(a => a.Id, StringComparer.Ordinal)];
        }
    }

    /// <summary>Every alert kept: open ones and those resolved within <see cref="AlertingOptions.KeepResolvedFor"/>.</summary>
    public IReadOnlyList<Alert> Alerts()
    {
        lock (_gate)
        {
            return [.. _alerts.Values.OrderBy(a => a.RaisedAt).ThenBy(a => a.Id, StringComparer.Ordinal)];
        }
    }

    /// <summary>How many (device, rule) states the engine keeps: only rules with something to remember have one.</summary>
    internal int RuleStateCount
    {
        get
        {
            lock (_gate)
            {
                return _rules.Count;
            }
        }
    }

    /// <summary>The rules in force for a device (profile plus city overrides), for the API and tests.</summary>
    /// <summary>Test hook: the identity the engine keeps for a device, and the rules it applies to it now.</summary>
    internal (DeviceIdentity Identity, IReadOnlyList<AlertRule> Rules)? StateOf(string deviceId)
    {
        lock (_gate)
        {
            return _devices.TryGetValue(deviceId, out var device) ? (device.Identity, RulesOf(device)) : null;
        }
    }

    public IReadOnlyList<AlertRule> RulesFor(DeviceIdentity device, string profileId) =>
        _profiles.TryGetValue(profileId, out var profile) ? _cityRules.For(profile, device) : [];


    /// <summary>Writes the state file now if anything changed (the host calls it at shutdown).</summary>
    public void Save()
    {
        lock (_gate)
        {
            SaveIf(_dirty, allDevices: true);
        }
    }

    private AlertOperationResult? Check(string id, string who, bool mustBeOpen)
    {
        if (string.IsNullOrWhiteSpace(who))
        {
            return AlertOperationResult.Refused(AlertOperationError.MissingOperator, "the operator (who) is required");
        }

        if (!_alerts.TryGetValue(id, out var alert))
        {
            return AlertOperationResult.Refused(AlertOperationError.NotFound, $"no alert with id '{id}' (unknown, or resolved more than {RuleTime.Format(_options.KeepResolvedFor)} ago)");
        }

        if (mustBeOpen && alert.State == AlertState.Resolved)
        {
            return AlertOperationResult.Refused(AlertOperationError.AlreadyResolved, $"alert {id} was already resolved at {alert.ResolvedAt:O} by {alert.ResolvedBy ?? "the engine (condition cleared)"}", alert);
        }

        return null;
    }
}

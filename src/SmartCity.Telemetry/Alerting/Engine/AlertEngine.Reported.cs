using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Engine;

public sealed partial class AlertEngine
{
    /// <summary>
    /// An event about a device that the worker itself concluded, not one the device sent (a lamp
    /// that did not follow a command): only the device's <c>event</c> rules judge it, so it raises,
    /// recurs on and clears an alert like a device's own event, with acknowledge and resolve as
    /// usual, but it is no sign of life (offline rules and the device's last-seen stay as they were).
    /// </summary>
    public IReadOnlyList<AlertTransition> ObserveReported(DeviceIdentity identity, string profileId, string eventValue, string detail, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var output = new List<AlertTransition>();
        if (!_profiles.ContainsKey(profileId) || _evaluators.For(RuleVocabulary.Event.Name) is not { } evaluator)
        {
            return output;
        }

        var point = new Point("reported_event", at)
            .Tag("device_id", identity.DeviceId)
            .Field("event", eventValue)
            .Field("detail", detail);
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var device = Device(identity, profileId);
            _context.Begin(device, now, now, output);
            foreach (var rule in RulesOf(device))
            {
                if (rule.Enabled && rule.Kind == RuleVocabulary.Event.Name)
                {
                    _rules.TryGetValue((identity.DeviceId, rule.Rule), out var rs);
                    evaluator.Observe(_context, rule, rs, point);
                }
            }

            SaveIf(output.Count > 0);
        }

        return output;
    }
}

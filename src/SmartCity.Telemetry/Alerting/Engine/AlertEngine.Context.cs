using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Alerting.Engine;

public sealed partial class AlertEngine
{
    /// <summary>
    /// The engine as the evaluators see it while one device is judged. One instance, pointed at each
    /// device in turn (<see cref="Begin"/>): the engine runs one call at a time, and a context per
    /// message would be one more allocation on every point.
    /// </summary>
    private sealed class RuleContext(AlertEngine engine) : IRuleContext
    {
        private List<AlertTransition> _output = [];

        public AlertingOptions Options => engine._options;

        public DateTimeOffset Now { get; private set; }

        public DateTimeOffset DeviceNow { get; private set; }

        public DeviceAlertState Device { get; private set; } = null!;

        public DeviceProfile? Profile => engine._profiles.GetValueOrDefault(Device.ProfileId);

        public void Begin(DeviceAlertState device, DateTimeOffset now, DateTimeOffset deviceNow, List<AlertTransition> output)
        {
            Device = device;
            Now = now;
            DeviceNow = deviceNow;
            _output = output;
        }

        public RuleAlertState? Find(AlertRule rule) =>
            engine._rules.GetValueOrDefault((Device.Identity.DeviceId, rule.Rule));

        public RuleAlertState StateOf(AlertRule rule) => engine.RuleState(Device.Identity.DeviceId, rule.Rule);

        public Alert? OpenAlert(RuleAlertState state) => engine.OpenAlert(state);

        public bool Applies(AlertSchedule schedule, DateTimeOffset at) => engine._calendar.Applies(schedule, at);

        public bool Inhibited(AlertRule rule) => engine.Inhibited(rule, Device);

        public bool GroupUnderParent(AlertRule rule) => engine.GroupUnderParent(Device, rule.Rule);

        public bool IsOffline() => engine.IsOffline(Device, engine.RulesOf(Device));

        public void Raise(AlertRule rule, RuleAlertState state, DateTimeOffset at, double? value, string comment, DateTimeOffset? deviceTime = null) =>
            engine.Raise(rule, state, Device, at, value, comment, _output, deviceTime);

        public void Resolve(Alert alert, RuleAlertState state, DateTimeOffset at, string comment, double? value, DateTimeOffset? deviceTime = null) =>
            engine.Resolve(alert, state, at, null, comment, value, _output, deviceTime);

        public void Recur(Alert open, DateTimeOffset deviceTime)
        {
            // Engine time, like RaisedAt (a replayed repeat must not show before the raise); the device's own time beside it.
            engine._alerts[open.Id] = open with { Occurrences = open.Occurrences + 1, LastOccurrenceAt = Now, LastOccurrenceDeviceTime = deviceTime };
            engine._dirty = true;
        }

        public void BackOnline(RuleAlertState state, DateTimeOffset deviceTime, string comment) =>
            engine.BackOnline(state, deviceTime, comment, Now, _output);
    }
}

using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Alerting.Rules;

/// <summary>
/// What an <see cref="IRuleEvaluator"/> sees of the engine while it judges one device: the clocks,
/// the device's state, and the lifecycle operations (raise, resolve) the engine carries out.
/// </summary>
public interface IRuleContext
{
    AlertingOptions Options { get; }

    /// <summary>The engine's clock: liveness, quiet periods and timers run on it.</summary>
    DateTimeOffset Now { get; }

    /// <summary>"Now" on the stream's device time (see the engine's remarks); set for ticks, <see cref="Now"/> otherwise.</summary>
    DateTimeOffset DeviceNow { get; }

    DeviceAlertState Device { get; }

    /// <summary>The device's profile, null if the engine no longer has it.</summary>
    DeviceProfile? Profile { get; }

    /// <summary>The rule's state on this device, or null while it has nothing to remember.</summary>
    RuleAlertState? Find(AlertRule rule);

    /// <summary>The rule's state on this device, made when it has none yet.</summary>
    RuleAlertState StateOf(AlertRule rule);

    /// <summary>The rule's open alert (raised or acknowledged), if any.</summary>
    Alert? OpenAlert(RuleAlertState state);

    /// <summary>Whether the rule's schedule covers <paramref name="at"/>.</summary>
    bool Applies(AlertSchedule schedule, DateTimeOffset at);

    /// <summary>An inhibiting rule of this one is open on the device.</summary>
    bool Inhibited(AlertRule rule);

    /// <summary>The device is listed on its parent's open grouping alert instead (true: do not raise).</summary>
    bool GroupUnderParent(AlertRule rule);

    /// <summary>An offline rule of the device has an open alert.</summary>
    bool IsOffline();

    void Raise(AlertRule rule, RuleAlertState state, DateTimeOffset at, double? value, string comment, DateTimeOffset? deviceTime = null);

    void Resolve(Alert alert, RuleAlertState state, DateTimeOffset at, string comment, double? value, DateTimeOffset? deviceTime = null);

    /// <summary>The open alert's cause happened again (one alert per burst): counted on it, no new alert.</summary>
    void Recur(Alert open, DateTimeOffset deviceTime);

    /// <summary>A sign of life stamped <paramref name="deviceTime"/>: an open offline alert of this state resolves.</summary>
    void BackOnline(RuleAlertState state, DateTimeOffset deviceTime, string comment);
}

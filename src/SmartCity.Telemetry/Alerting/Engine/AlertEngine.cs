using SmartCity.Telemetry.Alerting.Rules;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Alerting.Engine;

/// <summary>
/// Evaluates the profiles' alert rules (with the city's overrides) on decoded points, and runs
/// the alert lifecycle: raise, acknowledge, escalate, resolve, flapping. Each rule kind is judged by
/// its <see cref="IRuleEvaluator"/>; the engine keeps the state and carries out the transitions.
/// No notifier calls and no I/O but its state file; all time comes from the injected
/// <see cref="TimeProvider"/> and the points' own timestamps. Every call returns the transitions it
/// caused; the host hands them to the notifiers. In the worker every call comes through the
/// alerting service's one queue; the lock remains for the state saver, which takes its snapshot
/// off that thread.
/// </summary>
/// <remarks>
/// Device time versus engine time: rule conditions and their <c>for</c> durations are measured on
/// the device's timestamps (so late, replayed or accelerated data is judged as it happened), while
/// liveness (offline), quiet-period resolves, escalation and flapping run on the engine's clock
/// (they are about now). Silence must hold on both clocks, though: on the engine's (nothing
/// arrived for the limit) and on the stream's device time (<see cref="DeviceClock"/>), so a worker
/// that comes back to minutes of queued messages, or lags behind a deep broker queue, does not call
/// devices silent whose messages are still waiting in the queue.
/// </remarks>
public sealed partial class AlertEngine : IAlertStateSource
{
    private readonly Lock _gate = new();
    private readonly AlertingOptions _options;
    private readonly AlertCalendar _calendar;
    private readonly CityRules _cityRules;
    private readonly TimeProvider _time;
    private readonly AlertStore? _store;
    private readonly RuleEvaluators _evaluators;
    private readonly RuleContext _context;
    private readonly Dictionary<string, DeviceProfile> _profiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Alert> _alerts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeviceAlertState> _devices;
    private readonly Dictionary<(string DeviceId, string Rule), RuleAlertState> _rules = [];

    /// <summary>
    /// One instance of each sector, district, site, device type, profile and parent name: every message
    /// brings its own copies, and 100,000 devices would otherwise keep 100,000 copies of a few thousand names.
    /// </summary>
    private readonly NameTable _names = new();

    /// <summary>One instance of each site and type's names, shared by the devices' identities (never removed: a few thousand in a city).</summary>
    private readonly Dictionary<DevicePlace, DevicePlace> _places = [];
    private bool _dirty;

    /// <summary>Set by the host: saves are debounced and written off the alert thread. Without one every change is written at once.</summary>
    private AlertStateSaver? _saver;

    /// <summary>
    /// How far the message stream has got in device time: the newest device timestamp observed
    /// (never ahead of the engine's clock), and when it was observed. While a backlog drains the
    /// stream is minutes behind now; see <see cref="DeviceClock"/>.
    /// </summary>
    private DateTimeOffset? _streamTime;
    private DateTimeOffset _streamObservedAt;

    /// <summary>Messages the worker itself holds (received and not yet acknowledged, or queued for this engine); see <see cref="DeviceClock"/>.</summary>
    private readonly Func<long>? _held;

    /// <summary>Only devices' liveness changed since the last save (every message does that).</summary>
    private bool _devicesDirty;
    private DateTimeOffset _devicesSavedAt;

    /// <summary>
    /// Liveness alone is saved at most this often: with 100,000 devices every save writes them all.
    /// A restart then sees devices up to this much staler, which only brings an offline alert for a
    /// device that really stays silent that much earlier.
    /// </summary>
    private static readonly TimeSpan DeviceSaveInterval = TimeSpan.FromMinutes(1);

    public AlertEngine(
        AlertingOptions options,
        IEnumerable<DeviceProfile> profiles,
        CityRules? cityRules,
        TimeProvider time,
        AlertStore? store = null,
        RuleEvaluators? evaluators = null,
        Func<long>? held = null,
        int expectedDevices = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _calendar = new AlertCalendar(options);
        _cityRules = cityRules ?? CityRules.None;
        _time = time;
        _store = store;
        _evaluators = evaluators ?? RuleEvaluators.BuiltIn;
        _held = held;
        _context = new RuleContext(this);
        foreach (var p in profiles)
        {
            _profiles[p.Id] = p;
        }

        var snapshot = store?.Load();
        // Sized once for the city (or the saved devices, if more) before the first birth, rather than grown by doubling.
        _devices = DeviceMaps.Create<DeviceAlertState>(Math.Max(expectedDevices, snapshot?.Devices?.Count ?? 0));
        if (snapshot is not null)
        {
            Restore(snapshot);
        }

        // After a restart the stream resumes where the saved devices left it: queued messages
        // delivered next are judged against that, not against a clock that ran on while nobody listened.
        _streamObservedAt = time.GetUtcNow();
        foreach (var d in _devices.Values)
        {
            if (d.LastTimestamp is { } ts)
            {
                AdvanceStream(ts, _streamObservedAt);
            }
        }
    }

    /// <summary>The saved state, at start: open alerts, devices (on shared names) and rule states.</summary>
    private void Restore(AlertEngineSnapshot snapshot)
    {
        // Reloaded open alerts are continued (same id, same history), never raised again.
        foreach (var a in snapshot.Alerts)
        {
            _alerts[a.Id] = a;
        }

        foreach (var d in snapshot.Devices ?? [])
        {
            d.Identity = Shared(d.Identity);
            d.ProfileId = Shared(d.ProfileId);
            d.Parent = d.Parent is null ? null : Shared(d.Parent);
            _devices[d.Identity.DeviceId] = d;
        }

        foreach (var r in snapshot.Rules)
        {
            _rules[(r.DeviceId, r.Rule)] = r;
        }
    }

    /// <summary>A decoded point of a device with profile <paramref name="profileId"/> (telemetry or event).</summary>
    public IReadOnlyList<AlertTransition> Observe(Point point, string profileId)
    {
        ArgumentNullException.ThrowIfNull(point);
        var deviceId = point.GetTag("device_id");
        if (deviceId is null || !_profiles.TryGetValue(profileId, out var profile))
        {
            // Not a device point (a dead letter), or a profile this engine was not given: nothing to judge.
            return [];
        }

        var sector = point.GetTag("sector") ?? profile.Sector;
        var district = point.GetTag("district") ?? "";
        var site = point.GetTag("site") ?? "";
        var deviceType = point.GetTag("device_type") ?? profile.DeviceType;
        var ts = point.Timestamp;
        var output = new List<AlertTransition>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            AdvanceStream(ts, now);
            // A known device whose tags did not change (every reading but its first) builds no identity of its own.
            var device = KnownUnchanged(deviceId, sector, district, site, deviceType, profile.Id)
                ?? Device(new DeviceIdentity(deviceId, sector, district, site, deviceType), profile.Id);
            device.LastReceivedAt = now;
            if (device.LastTimestamp is null || ts > device.LastTimestamp)
            {
                device.LastTimestamp = ts;
            }

            // Liveness only: saved with the next change, or at the latest after DeviceSaveInterval.
            _devicesDirty = true;
            var judgedLevels = false;
            _context.Begin(device, now, now, output);
            foreach (var rule in RulesOf(device))
            {
                // Rule state is made only when a rule has something to remember (an open alert, a
                // pending condition, a rate's previous reading): 100,000 healthy devices keep none.
                if (rule.Enabled && _evaluators.For(rule.Kind) is { } evaluator)
                {
                    _rules.TryGetValue((deviceId, rule.Rule), out var rs);
                    judgedLevels |= evaluator.Observe(_context, rule, rs, point);
                }
            }

            if (judgedLevels && (device.LastLevelTimestamp is null || ts > device.LastLevelTimestamp))
            {
                device.LastLevelTimestamp = ts;
            }

            SaveIf(output.Count > 0);
        }

        return output;
    }

    /// <summary>The device's last will arrived (<c>"online": false</c>): offline at once, no waiting for silence.</summary>
    public IReadOnlyList<AlertTransition> DeviceWentOffline(string deviceId, DateTimeOffset at)
    {
        var output = new List<AlertTransition>();
        lock (_gate)
        {
            if (!_devices.TryGetValue(deviceId, out var device))
            {
                // Never seen: the engine does not know its profile, so not which offline rule applies.
                return output;
            }

            var rule = RulesOf(device).FirstOrDefault(r => r.Kind == RuleVocabulary.Offline.Name && r.Enabled);
            if (rule is null)
            {
                return output;
            }

            var rs = RuleState(deviceId, rule.Rule);
            if (OpenAlert(rs) is null && rs.PendingSince is null)
            {
                rs.LastTimestamp = device.LastTimestamp;
                if (GroupUnderParent(device, rule.Rule))
                {
                    // Listed on the parent's open alert (the cabinet lost mains): no alert of its own.
                }
                else if (device.Parent is not null && _options.GroupHoldDown > TimeSpan.Zero)
                {
                    // The cabinet's report of the mains loss may come a moment after its lamps' wills.
                    rs.PendingSince = at;
                    _dirty = true;
                }
                else
                {
                    // A will has no timestamp of its own: the device time is that of its last message.
                    Raise(rule, rs, device, at, null, "last will: the device disconnected", output, device.LastTimestamp);
                }
            }

            SaveIf(output.Count > 0);
        }

        return output;
    }

    /// <summary>
    /// A birth (<c>"online": true</c> on the status topic, stamped <paramref name="at"/> by the
    /// device): an open offline alert resolves, unless the birth is older than what the device
    /// sent before it went silent (a retained birth delivered again after a reconnect).
    /// </summary>
    public IReadOnlyList<AlertTransition> DeviceCameOnline(DeviceIdentity identity, string profileId, DateTimeOffset at, string? parent = null)
    {
        ArgumentNullException.ThrowIfNull(identity);
        var output = new List<AlertTransition>();
        if (!_profiles.ContainsKey(profileId))
        {
            return output;
        }

        lock (_gate)
        {
            var now = _time.GetUtcNow();
            AdvanceStream(at, now);
            var known = _devices.ContainsKey(identity.DeviceId);
            var device = Device(identity, profileId);
            if (!known || device.LastTimestamp is null || at > device.LastTimestamp)
            {
                // A sign of life (or the first meeting): silence counts from now. An old retained
                // birth handed out again after a reconnect is not one.
                device.LastReceivedAt = now;
                device.LastTimestamp = at;
                _devicesDirty = true;
            }

            if (device.Parent != parent)
            {
                device.Parent = parent is null ? null : Shared(parent);
                _devicesDirty = true;
            }

            foreach (var rule in RulesOf(device))
            {
                if (rule.Kind != RuleVocabulary.Offline.Name || !rule.Enabled)
                {
                    continue;
                }

                if (_rules.TryGetValue((identity.DeviceId, rule.Rule), out var rs))
                {
                    BackOnline(rs, at, "birth: the device is back online", now, output);
                }
            }

            SaveIf(output.Count > 0); // the periodic tick saves first meetings: 100,000 retained births must not write the file 100,000 times
        }

        return output;
    }

    /// <summary>
    /// Periodic work (every few seconds): each rule's timers (offline by silence, <c>for</c> timers of
    /// devices that report only on change, quiet periods), escalation, forgetting old resolved alerts,
    /// flapping that settled, and saving rule state.
    /// </summary>
    public IReadOnlyList<AlertTransition> Tick()
    {
        var output = new List<AlertTransition>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            PauseWhileHeld(now);
            var deviceNow = DeviceClock(now);
            foreach (var device in _devices.Values)
            {
                _context.Begin(device, now, deviceNow, output);
                foreach (var rule in RulesOf(device))
                {
                    if (rule.Enabled && _evaluators.For(rule.Kind) is { } evaluator)
                    {
                        _rules.TryGetValue((device.Identity.DeviceId, rule.Rule), out var rs);
                        evaluator.Tick(_context, rule, rs);
                    }
                }
            }

            EscalateAndForget(now, output);
            FlappingSettled(now, output);
            SaveIf(_dirty);
        }

        return output;
    }
}

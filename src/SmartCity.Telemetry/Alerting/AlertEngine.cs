using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Alerting;

/// <summary>A sink that threw while being handed a transition; the host logs it (one broken notifier must not stop the others).</summary>
public sealed record AlertDispatchFailure(IAlertSink Sink, AlertTransition Transition, Exception Exception);

/// <summary>
/// Evaluates the profiles' alert rules (with the city's overrides) on decoded points, and runs
/// the alert lifecycle: raise, acknowledge, escalate, resolve, flapping. Pure: no I/O but its
/// state file; all time comes from the injected <see cref="TimeProvider"/> and the points' own
/// timestamps. Every call returns the transitions it caused; <see cref="DispatchAsync"/> hands
/// them to the sinks. Thread-safe: the pipeline, the operator API and the timer may call at once.
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
public sealed partial class AlertEngine
{
    private const string EventField = "event";

    private readonly Lock _gate = new();
    private readonly AlertingOptions _options;
    private readonly AlertCalendar _calendar;
    private readonly CityRules _cityRules;
    private readonly TimeProvider _time;
    private readonly AlertStore? _store;
    private readonly IReadOnlyList<IAlertSink> _sinks;
    private readonly Dictionary<string, DeviceProfile> _profiles = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Alert> _alerts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DeviceAlertState> _devices = new(StringComparer.Ordinal);
    private readonly Dictionary<(string DeviceId, string Rule), RuleAlertState> _rules = [];

    /// <summary>
    /// One instance of each sector, district, site, device type, profile and parent name: every message
    /// brings its own copies, and 100,000 devices would otherwise keep 100,000 copies of a few thousand names.
    /// </summary>
    private readonly NameTable _names = new();
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
        IEnumerable<IAlertSink>? sinks = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(profiles);
        ArgumentNullException.ThrowIfNull(time);
        _options = options;
        _calendar = new AlertCalendar(options);
        _cityRules = cityRules ?? CityRules.None;
        _time = time;
        _store = store;
        _sinks = sinks?.ToList() ?? [];
        foreach (var p in profiles)
        {
            _profiles[p.Id] = p;
        }

        if (store?.Load() is { } snapshot)
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

        var identity = new DeviceIdentity(
            deviceId,
            point.GetTag("sector") ?? profile.Sector,
            point.GetTag("district") ?? "",
            point.GetTag("site") ?? "",
            point.GetTag("device_type") ?? profile.DeviceType);
        var ts = point.Timestamp;
        var output = new List<AlertTransition>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            AdvanceStream(ts, now);
            var device = Device(identity, profile.Id);
            device.LastReceivedAt = now;
            if (device.LastTimestamp is null || ts > device.LastTimestamp)
            {
                device.LastTimestamp = ts;
            }

            // Liveness only: saved with the next change, or at the latest after DeviceSaveInterval.
            _devicesDirty = true;
            var judgedLevels = false;
            foreach (var rule in RulesOf(device))
            {
                if (!rule.Enabled)
                {
                    continue;
                }

                // Rule state is made only when a rule has something to remember (an open alert, a
                // pending condition, a rate's previous reading): 100,000 healthy devices keep none.
                _rules.TryGetValue((deviceId, rule.Rule), out var rs);
                switch (rule.Kind)
                {
                    case AlertRuleKind.Offline when rs is not null:
                        BackOnline(rs, ts, "a message arrived", now, output);
                        break;
                    case AlertRuleKind.Event:
                        ObserveEvent(rule, rs, device, point, now, output);
                        break;
                    case AlertRuleKind.Threshold or AlertRuleKind.Flag or AlertRuleKind.Rate:
                        if (Numeric(point.GetField(rule.Field ?? "")) is { } value)
                        {
                            judgedLevels = true;
                            ObserveLevel(rule, rs, device, value, ts, now, output);
                        }

                        break;
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

            var rule = RulesOf(device).FirstOrDefault(r => r.Kind == AlertRuleKind.Offline && r.Enabled);
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
                if (rule.Kind != AlertRuleKind.Offline || !rule.Enabled)
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
    /// Periodic work (every few seconds): offline by silence, <c>for</c> timers of devices that
    /// report only on change, escalation, flapping that settled, and saving rule state.
    /// </summary>
    public IReadOnlyList<AlertTransition> Tick()
    {
        var output = new List<AlertTransition>();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var deviceNow = DeviceClock(now);
            foreach (var device in _devices.Values)
            {
                var rules = RulesOf(device);
                var profile = _profiles.GetValueOrDefault(device.ProfileId);
                foreach (var rule in rules)
                {
                    if (!rule.Enabled)
                    {
                        continue;
                    }

                    _rules.TryGetValue((device.Identity.DeviceId, rule.Rule), out var rs);
                    if (rule.Kind == AlertRuleKind.Offline && rs is not null && OpenAlert(rs) is null && rs.PendingSince is { } pending)
                    {
                        if (GroupUnderParent(device, rule.Rule))
                        {
                            rs.PendingSince = null;
                        }
                        else if (now - pending >= _options.GroupHoldDown)
                        {
                            rs.PendingSince = null;
                            Raise(rule, rs, device, now, null, $"last will at {pending:O}: the device disconnected (no parent alert groups it)", output, device.LastTimestamp);
                        }
                    }
                    else if (rule.Kind == AlertRuleKind.Offline && profile is not null && (rs is null || OpenAlert(rs) is null))
                    {
                        var silentSince = rs?.ArmedAt is { } armed && armed > device.LastReceivedAt ? armed : device.LastReceivedAt;
                        var limit = profile.ExpectedInterval * _options.OfflineAfterIntervals;
                        if (now - silentSince >= limit
                            && SilentInDeviceTime(device.LastTimestamp, device.LastReceivedAt, deviceNow, limit)
                            && !GroupUnderParent(device, rule.Rule))
                        {
                            rs ??= RuleState(device.Identity.DeviceId, rule.Rule);
                            rs.LastTimestamp = device.LastTimestamp;
                            Raise(rule, rs, device, now, null, $"no message for {Format(now - device.LastReceivedAt)}", output, device.LastTimestamp);
                        }
                    }
                    else if (rule is { Kind: AlertRuleKind.Event, ResolveAfterQuiet: { } quiet }
                        && rs is not null
                        && OpenAlert(rs) is { } eventAlert
                        && now - (eventAlert.LastOccurrenceAt ?? eventAlert.RaisedAt) >= quiet
                        && SilentInDeviceTime(eventAlert.LastOccurrenceDeviceTime, eventAlert.LastOccurrenceAt ?? eventAlert.RaisedAt, deviceNow, quiet))
                    {
                        // What is happening now: the motion stopped. Both clocks, as for silence, so
                        // queued events still draining after an outage keep the alert open.
                        Resolve(eventAlert, rs, now, null, $"no {rule.Event} for {Format(quiet)}", null, output);
                    }
                    else if (rule.Kind is AlertRuleKind.Threshold or AlertRuleKind.Flag
                        && rs is not null
                        && rule.For > TimeSpan.Zero
                        && OpenAlert(rs) is null
                        && rs.ConditionSinceReceived is { } since
                        && now - since >= rule.For
                        && _calendar.Applies(rule.Schedule, now)
                        && !IsOffline(device, rules)
                        && !Inhibited(rule, device)
                        && !GroupUnderParent(device, rule.Rule))
                    {
                        // The device reports on change only (or its next reading is late): the last reading still holds.
                        Raise(rule, rs, device, now, rs.PreviousValue, $"held for {Format(rule.For)} (no newer reading)", output);
                    }
                }
            }

            foreach (var alert in _alerts.Values.ToList())
            {
                if (alert is { Severity: AlertSeverity.Critical, State: AlertState.Raised, Escalated: false }
                    && now - alert.RaisedAt >= _options.EscalateCriticalAfter)
                {
                    var entry = new AlertHistoryEntry(AlertTransitionKind.Escalated, now, Comment: $"critical and not acknowledged for {Format(_options.EscalateCriticalAfter)}");
                    Emit(Append(alert, entry) with { Escalated = true }, entry, suppressed: false, output);
                }
                else if (alert.State == AlertState.Resolved && alert.ResolvedAt < now - _options.KeepResolvedFor)
                {
                    _alerts.Remove(alert.Id);
                    _dirty = true;
                    // Reported so the retained MQTT state goes too: the broker would otherwise keep every alert ever raised.
                    output.Add(new AlertTransition(alert, new AlertHistoryEntry(AlertTransitionKind.Removed, now, Comment: $"resolved more than {Format(_options.KeepResolvedFor)} ago: forgotten"), Suppressed: false));
                }
            }

            foreach (var rs in _rules.Values)
            {
                if (rs.Flapping && Prune(rs, now) == 0)
                {
                    rs.Flapping = false;
                    _dirty = true;
                    if (rs.LastAlertId is { } id && _alerts.TryGetValue(id, out var last))
                    {
                        var entry = new AlertHistoryEntry(AlertTransitionKind.FlappingStopped, now, Comment: $"quiet for {Format(_options.Flapping.Window)}: notifications resume");
                        Emit(Append(last, entry) with { Flapping = false }, entry, suppressed: false, output);
                    }
                }
            }

            SaveIf(_dirty);
        }

        return output;
    }

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

    /// <summary>Hands transitions to every sink, in order. A sink that throws is reported, not fatal to the others.</summary>
    public async ValueTask<IReadOnlyList<AlertDispatchFailure>> DispatchAsync(IReadOnlyList<AlertTransition> transitions, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(transitions);
        var failures = new List<AlertDispatchFailure>();
        foreach (var t in transitions)
        {
            foreach (var sink in _sinks)
            {
                try
                {
                    await sink.OnTransitionAsync(t, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    failures.Add(new AlertDispatchFailure(sink, t, ex));
                }
            }
        }

        return failures;
    }

    /// <summary>Writes the state file now if anything changed (the host calls it at shutdown).</summary>
    public void Save()
    {
        lock (_gate)
        {
            SaveIf(_dirty, allDevices: true);
        }
    }

    private void ObserveEvent(AlertRule rule, RuleAlertState? state, DeviceAlertState device, Point point, DateTimeOffset now, List<AlertTransition> output)
    {
        if (point.GetField(EventField) is not { Type: FieldType.String } value)
        {
            return;
        }

        var clears = rule.ClearEvent is { } clearEvent && value.Text == clearEvent;
        if (!clears && value.Text != rule.Event)
        {
            return;
        }

        var ts = point.Timestamp;
        var rs = state ?? RuleState(device.Identity.DeviceId, rule.Rule);
        if (rs.LastTimestamp is { } last && ts <= last)
        {
            // A redelivery, or a late copy of an event already judged: a video_restored that
            // arrives after a newer video_loss must not close the newer incident.
            return;
        }

        rs.LastTimestamp = ts;
        if (clears)
        {
            // Cleared whatever the schedule: the panel's alarm_cleared at 08:01 still closes the night's alarm.
            if (OpenAlert(rs) is { } cleared)
            {
                Resolve(cleared, rs, now, null, $"event {rule.ClearEvent}", null, output, ts);
            }

            return;
        }

        if (!_calendar.Applies(rule.Schedule, ts))
        {
            return;
        }

        if (OpenAlert(rs) is { } open)
        {
            // One alert per burst: a door forced again while the first is open is the same incident.
            // Engine time, like RaisedAt (a replayed repeat must not show before the raise); the device's own time beside it.
            _alerts[open.Id] = open with { Occurrences = open.Occurrences + 1, LastOccurrenceAt = now, LastOccurrenceDeviceTime = ts };
            _dirty = true;
            return;
        }

        Raise(rule, rs, device, now, null, $"event {rule.Event}", output, ts);
    }

    private void ObserveLevel(AlertRule rule, RuleAlertState? state, DeviceAlertState device, double value, DateTimeOffset ts, DateTimeOffset now, List<AlertTransition> output)
    {
        if (state is null && rule.Kind != AlertRuleKind.Rate)
        {
            // Nothing open or pending for this rule: a reading within limits (or outside the rule's
            // schedule: a lamp off at noon) changes nothing, and a late one (older than the newest
            // reading judged on this device) must not start a condition newer readings ruled out.
            if (rule.Breach(value) == 0
                || (device.LastLevelTimestamp is { } newest && ts <= newest)
                || !_calendar.Applies(rule.Schedule, ts))
            {
                return;
            }
        }

        var rs = state ?? RuleState(device.Identity.DeviceId, rule.Rule);
        if (rs.LastTimestamp is { } last && ts <= last)
        {
            return; // late or duplicate: judged already by a newer reading, it must not flip the state back
        }

        rs.LastTimestamp = ts;
        var observed = value;
        DateTimeOffset conditionStart = ts;
        if (rule.Kind == AlertRuleKind.Rate)
        {
            var (previous, previousAt) = (rs.PreviousValue, rs.PreviousTimestamp);
            rs.PreviousValue = value;
            rs.PreviousTimestamp = ts;
            if (previous is not { } p || previousAt is not { } pAt)
            {
                return; // the first reading has nothing to compare with
            }

            // The size of the change: a stuck sensor is one whose value moves in neither direction.
            observed = Math.Abs(value - p) / (ts - pAt).TotalMinutes;
            conditionStart = pAt;
        }
        else
        {
            rs.PreviousValue = value;
        }

        if (OpenAlert(rs) is { } open)
        {
            // Clearing is judged even outside the schedule: CO2 that falls after school closes the alert.
            if (rule.Clears(observed, rs.Side))
            {
                Resolve(open, rs, now, null, $"{Describe(rule)} cleared", observed, output, ts);
            }

            return;
        }

        var side = rule.Breach(observed);
        if (side == 0 || !_calendar.Applies(rule.Schedule, ts))
        {
            rs.ConditionSince = null;
            rs.ConditionSinceReceived = null;
            return;
        }

        if (rs.ConditionSince is null || rs.Side != side)
        {
            rs.ConditionSince = conditionStart;
            rs.ConditionSinceReceived = now;
            rs.Side = side;
        }

        if (ts - rs.ConditionSince >= rule.For && !Inhibited(rule, device) && !GroupUnderParent(device, rule.Rule))
        {
            Raise(rule, rs, device, now, observed, $"{Describe(rule)} = {observed.ToString(CultureInfo.InvariantCulture)}", output, ts);
        }
    }

    private void Raise(AlertRule rule, RuleAlertState rs, DeviceAlertState device, DateTimeOffset at, double? value, string comment, List<AlertTransition> output, DateTimeOffset? deviceTime = null)
    {
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
            $"more than {_options.Flapping.MaxTransitions} raises and resolves within {Format(_options.Flapping.Window)}: notifications paused until quiet for as long");
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

    private AlertOperationResult? Check(string id, string who, bool mustBeOpen)
    {
        if (string.IsNullOrWhiteSpace(who))
        {
            return AlertOperationResult.Refused(AlertOperationError.MissingOperator, "the operator (who) is required");
        }

        if (!_alerts.TryGetValue(id, out var alert))
        {
            return AlertOperationResult.Refused(AlertOperationError.NotFound, $"no alert with id '{id}' (unknown, or resolved more than {Format(_options.KeepResolvedFor)} ago)");
        }

        if (mustBeOpen && alert.State == AlertState.Resolved)
        {
            return AlertOperationResult.Refused(AlertOperationError.AlreadyResolved, $"alert {id} was already resolved at {alert.ResolvedAt:O} by {alert.ResolvedBy ?? "the engine (condition cleared)"}", alert);
        }

        return null;
    }

    private DeviceAlertState Device(DeviceIdentity identity, string profileId)
    {
        if (!_devices.TryGetValue(identity.DeviceId, out var device))
        {
            device = new DeviceAlertState { Identity = Shared(identity), ProfileId = Shared(profileId) };
            _devices[device.Identity.DeviceId] = device;
        }

        // A device moved to another site (or re-flashed with another profile) takes its new rules.
        // Replaced only when it changed (records compare by value): the state keeps one identity per
        // device, made of shared names, instead of the one of every message.
        if (device.Identity != identity)
        {
            device.Identity = Shared(identity);
        }

        if (device.ProfileId != profileId)
        {
            device.ProfileId = Shared(profileId);
        }

        return device;
    }

    private IReadOnlyList<AlertRule> RulesOf(DeviceAlertState device) =>
        device.Rules ??= RulesFor(device.Identity, device.ProfileId);

    // The device id stays the message's own: it is one per device anyway (and the key of _devices).
    private DeviceIdentity Shared(DeviceIdentity identity) =>
        new(identity.DeviceId, Shared(identity.Sector), Shared(identity.District), Shared(identity.Site), Shared(identity.DeviceType));

    private string Shared(string name) => _names.Get(name);

    private RuleAlertState RuleState(string deviceId, string rule)
    {
        if (!_rules.TryGetValue((deviceId, rule), out var rs))
        {
            rs = new RuleAlertState { DeviceId = deviceId, Rule = rule };
            _rules[(deviceId, rule)] = rs;
        }

        return rs;
    }

    private Alert? OpenAlert(RuleAlertState rs) =>
        rs.OpenAlertId is { } id && _alerts.TryGetValue(id, out var a) && a.IsOpen ? a : null;

    /// <summary>
    /// An inhibiting rule is open on the device. The condition keeps its start, so if it still
    /// holds when the inhibitor resolves, the next reading raises it without waiting again.
    /// </summary>
    private bool Inhibited(AlertRule rule, DeviceAlertState device)
    {
        foreach (var other in rule.InhibitedBy)
        {
            if (_rules.TryGetValue((device.Identity.DeviceId, other), out var rs) && OpenAlert(rs) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// A message or birth stamped <paramref name="ts"/> reached an offline rule. Only one newer than
    /// anything seen before the device went silent proves it is back (a redelivery or a retained
    /// birth does not): the open offline alert resolves, and a last will still waiting out the
    /// hold-down raises nothing.
    /// </summary>
    private void BackOnline(RuleAlertState rs, DateTimeOffset ts, string comment, DateTimeOffset now, List<AlertTransition> output)
    {
        if (rs.LastTimestamp is { } last && ts <= last)
        {
            return;
        }

        rs.PendingSince = null;
        if (OpenAlert(rs) is { } offline)
        {
            Resolve(offline, rs, now, null, comment, null, output, ts);
        }
    }

    /// <summary>
    /// The device's parent has an open alert whose rule groups <paramref name="rule"/>: the device
    /// is listed on that alert (once) instead of raising its own. True when it was grouped.
    /// </summary>
    private bool GroupUnderParent(DeviceAlertState child, string rule)
    {
        if (child.Parent is not { } parentId || !_devices.TryGetValue(parentId, out var parent))
        {
            return false;
        }

        foreach (var parentRule in RulesOf(parent))
        {
            if (!parentRule.Groups.Contains(rule, StringComparer.Ordinal)
                || !_rules.TryGetValue((parentId, parentRule.Rule), out var prs)
                || OpenAlert(prs) is not { } open)
            {
                continue;
            }

            if (!open.Affected.Contains(child.Identity.DeviceId, StringComparer.Ordinal))
            {
                _alerts[open.Id] = open with { Affected = [.. open.Affected, child.Identity.DeviceId] };
                _dirty = true;
            }

            return true;
        }

        return false;
    }

    /// <summary>
    /// Children whose last will arrived just before this grouping alert (waiting out the
    /// hold-down) are grouped under it now, so the alert lists every device the cause took down.
    /// </summary>
    private List<string> AdoptPendingChildren(string parentId, AlertRule rule)
    {
        var adopted = new List<string>();
        foreach (var child in _devices.Values)
        {
            if (child.Parent != parentId)
            {
                continue;
            }

            foreach (var grouped in rule.Groups)
            {
                if (_rules.TryGetValue((child.Identity.DeviceId, grouped), out var crs) && crs.PendingSince is not null)
                {
                    crs.PendingSince = null;
                    adopted.Add(child.Identity.DeviceId);
                    break;
                }
            }
        }

        adopted.Sort(StringComparer.Ordinal);
        return adopted;
    }

    private bool IsOffline(DeviceAlertState device, IReadOnlyList<AlertRule> rules) =>
        rules.Any(r => r.Kind == AlertRuleKind.Offline
            && _rules.TryGetValue((device.Identity.DeviceId, r.Rule), out var rs)
            && OpenAlert(rs) is not null);

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

    /// <summary>
    /// Alerts and rule states are written whenever they change (in the worker through the
    /// <see cref="AlertStateSaver"/>: within <see cref="AlertingOptions.StateSaveDelay"/>, off this thread,
    /// so a crash forgets at most that much); the devices' liveness (one entry per device: large) at most every
    /// <see cref="DeviceSaveInterval"/>, or with <paramref name="allDevices"/> at shutdown.
    /// </summary>
    private void SaveIf(bool changed, bool allDevices = false)
    {
        if (_store is null)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var devicesDue = _devicesDirty && (allDevices || now - _devicesSavedAt >= DeviceSaveInterval);
        if (!changed && !devicesDue)
        {
            return;
        }

        if (_saver is not null && !allDevices)
        {
            // Debounced: the saver takes the snapshot within StateSaveDelay and writes it off this thread.
            _dirty |= changed;
            _saver.Request();
            return;
        }

        _store.Save(Snapshot(devicesDue, now, copy: false));
    }

    /// <summary>
    /// The state to save; clears the dirty flags (<see cref="SaveFailed"/> sets them again). With
    /// <paramref name="copy"/> the mutable states are copied, for a save serialised off the lock.
    /// </summary>
    private AlertEngineSnapshot Snapshot(bool withDevices, DateTimeOffset now, bool copy)
    {
        var snapshot = new AlertEngineSnapshot
        {
            Alerts = [.. _alerts.Values],   // immutable records: shared, not copied
            Devices = !withDevices ? null : copy ? [.. _devices.Values.Select(d => d.Copy())] : [.. _devices.Values],
            Rules = copy ? [.. _rules.Values.Select(r => r.Copy())] : [.. _rules.Values],
        };
        _dirty = false;
        if (withDevices)
        {
            _devicesDirty = false;
            _devicesSavedAt = now;
        }

        return snapshot;
    }

    /// <summary>Saves go through <paramref name="saver"/> (debounced, off the alert thread) from now on; the host's choice.</summary>
    internal void SaveThrough(AlertStateSaver saver)
    {
        lock (_gate)
        {
            _saver = saver;
        }
    }

    /// <summary>For <see cref="AlertStateSaver"/>: what changed since the last save, copied, or null when nothing did.</summary>
    internal AlertEngineSnapshot? TakeSnapshot(bool allDevices)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var devicesDue = _devicesDirty && (allDevices || now - _devicesSavedAt >= DeviceSaveInterval);
            return _dirty || devicesDue ? Snapshot(devicesDue, now, copy: true) : null;
        }
    }

    /// <summary>For <see cref="AlertStateSaver"/>: <paramref name="snapshot"/> was not written, so what it held is still to save.</summary>
    internal void SaveFailed(AlertEngineSnapshot snapshot)
    {
        lock (_gate)
        {
            _dirty = true;
            if (snapshot.Devices is not null)
            {
                _devicesDirty = true;
                _devicesSavedAt = DateTimeOffset.MinValue;
            }
        }
    }

    /// <summary>The stream reached device time <paramref name="ts"/> (a clock ahead of the engine's counts as now).</summary>
    private void AdvanceStream(DateTimeOffset ts, DateTimeOffset now)
    {
        var at = ts < now ? ts : now;
        if (_streamTime is null || at > _streamTime)
        {
            _streamTime = at;
        }

        _streamObservedAt = now;
    }

    /// <summary>
    /// "Now" on the stream's device time: the newest device time observed, plus the engine time
    /// since something last arrived. While a backlog drains, messages keep arriving and this stays
    /// where the queue has got to; once nothing more arrives (the backlog is drained, or the whole
    /// city fell silent) it runs on with the engine's clock, so silence is still judged. Never
    /// ahead of the engine's clock.
    /// </summary>
    private DateTimeOffset DeviceClock(DateTimeOffset now)
    {
        if (_streamTime is not { } stream)
        {
            return now;
        }

        var idle = now - _streamObservedAt;
        var clock = stream + (idle > TimeSpan.Zero ? idle : TimeSpan.Zero);
        return clock < now ? clock : now;
    }

    /// <summary>
    /// Silent for <paramref name="limit"/> on the stream's device time: the device's last message
    /// (its device time, or when it arrived if its clock runs ahead) is that far behind
    /// <paramref name="deviceNow"/>. Messages of a device still queued behind a backlog are not
    /// silence: the stream has not reached past them yet.
    /// </summary>
    private static bool SilentInDeviceTime(DateTimeOffset? lastDeviceTime, DateTimeOffset lastReceivedAt, DateTimeOffset deviceNow, TimeSpan limit)
    {
        var last = lastDeviceTime is { } t && t < lastReceivedAt ? t : lastReceivedAt;
        return deviceNow - last >= limit;
    }

    private static Alert Append(Alert alert, AlertHistoryEntry entry) => alert with { History = [.. alert.History, entry] };

    private static double? Numeric(FieldValue? field) => field switch
    {
        { Type: FieldType.Float } f => f.Number,
        { Type: FieldType.Integer } f => f.Integer,
        { Type: FieldType.Boolean } f => f.Boolean ? 1 : 0, // the profiles' convention: false = 0, true = 1
        _ => null,
    };

    private static string Describe(AlertRule rule) => rule.Kind == AlertRuleKind.Rate ? $"rate of {rule.Field} per minute" : rule.Field ?? rule.Rule;

    private static string Format(TimeSpan span) => span.ToString(span.TotalDays >= 1 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", CultureInfo.InvariantCulture);
}

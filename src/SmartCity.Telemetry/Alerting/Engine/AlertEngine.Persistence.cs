using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Alerting.Engine;

public sealed partial class AlertEngine
{
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
    /// The state to save; clears the dirty flags (<see cref="IAlertStateSource.SaveFailed"/> sets them again). With
    /// <paramref name="copy"/> the mutable states are copied, for a save serialised off the lock.
    /// </summary>
    private AlertEngineSnapshot Snapshot(bool withDevices, DateTimeOffset now, bool copy)
    {
        var snapshot = new AlertEngineSnapshot
        {
            Alerts = [.. _alerts.Values],   // immutable records: shared, not copied
            Devices = withDevices && !copy ? [.. _devices.Values] : null,
            DeviceRows = withDevices && copy ? DeviceAlertRows.Copy(_devices.Values) : null,
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
    void IAlertStateSource.SaveThrough(AlertStateSaver saver)
    {
        lock (_gate)
        {
            _saver = saver;
        }
    }

    /// <summary>For <see cref="AlertStateSaver"/>: what changed since the last save, copied, or null when nothing did.</summary>
    AlertEngineSnapshot? IAlertStateSource.TakeSnapshot(bool allDevices)
    {
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            var devicesDue = _devicesDirty && (allDevices || now - _devicesSavedAt >= DeviceSaveInterval);
            return _dirty || devicesDue ? Snapshot(devicesDue, now, copy: true) : null;
        }
    }

    /// <summary>For <see cref="AlertStateSaver"/>: <paramref name="snapshot"/> was not written, so what it held is still to save.</summary>
    void IAlertStateSource.SaveFailed(AlertEngineSnapshot snapshot)
    {
        lock (_gate)
        {
            _dirty = true;
            if (snapshot.Devices is not null || snapshot.DeviceRows is not null)
            {
                _devicesDirty = true;
                _devicesSavedAt = DateTimeOffset.MinValue;
            }
        }
    }

    /// <summary>
    /// While the worker holds messages (read at each tick: no timer of its own), the time since the last
    /// one arrived is not idle for <see cref="DeviceClock"/>: the clock is held where the stream got to.
    /// </summary>
    private void PauseWhileHeld(DateTimeOffset now)
    {
        if (_held?.Invoke() > 0 && now > _streamObservedAt)
        {
            _streamObservedAt = now;
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
    /// <remarks>
    /// "Nothing arrives" must be the devices' silence, not the worker's own stall: a worker that holds a
    /// received, unacknowledged message (Mqtt:ReceiveMaximum reached while a spool commit's fsync takes
    /// 10 s on a loaded disk) gets nothing more from the broker until it acknowledges, while the devices'
    /// messages wait there. Counting that as idle raises publishing devices offline (HeldIntakeClockTests
    /// shows it with a fake clock). So time during which the worker holds messages (<see cref="PauseWhileHeld"/>)
    /// is not idle: the clock stays where the stream got to, as the subscription watchdog treats held
    /// messages as traffic. Once nothing is held, silence counts again.
    /// </remarks>
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
}

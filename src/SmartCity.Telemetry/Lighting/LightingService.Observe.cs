using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Lighting;

/// <summary>Confirmation: acknowledgements and telemetry at the level; births (cabinet, re-send); energy.</summary>
public sealed partial class LightingService : IDeviceMessageObserver
{
    public const string AckEvent = "command_ack";
    public const string NotFollowedEvent = "command_not_followed";
    public const string FollowedEvent = "command_followed";

    public void Observe(in DeviceTopic topic, Point point, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(point);
        switch (topic.Kind)
        {
            case MessageKind.Status:
                Born(topic, point);
                break;
            case MessageKind.Event when point.GetField("event") is { Text: AckEvent }:
                Acknowledged(topic.DeviceId, point, receivedAt);
                break;
            case MessageKind.Telemetry when point.GetField("on") is { Type: FieldType.Boolean } on:
                var dim = point.GetField("dim_pct") is { Type: FieldType.Float } d ? d.Number : (double?)null;
                var power = point.GetField("power_w") is { Type: FieldType.Float } p ? p.Number : (double?)null;
                Reported(topic, on.Boolean, dim, power, point.Timestamp, receivedAt);
                break;
        }
    }

    private void Acknowledged(string deviceId, Point point, DateTimeOffset receivedAt)
    {
        var commandId = point.GetField("command_id")?.Text;
        var outcome = point.GetField("outcome")?.Text;
        lock (_gate)
        {
            if (commandId is null || !_state.Pending.TryGetValue(deviceId, out var pending) || pending.CommandId != commandId)
            {
                // An ack of a command already concluded (a redelivery, or after a timeout): the history keeps the first outcome.
                return;
            }

            _state.Pending.Remove(deviceId);
            var detail = point.GetField("detail")?.Text;
            if (outcome == "done")
            {
                Conclude(pending, CommandStatus.Confirmed, receivedAt, "ack");
            }
            else
            {
                Conclude(pending, CommandStatus.Refused, receivedAt, $"ack {outcome}" + (detail is null ? "" : $": {detail}"));
            }
        }
    }

    private void Reported(in DeviceTopic topic, bool on, double? dim, double? power, DateTimeOffset ts, DateTimeOffset receivedAt)
    {
        lock (_gate)
        {
            Meter(topic.DeviceId, topic.District, on, dim, power, ts);
            if (!_state.Pending.TryGetValue(topic.DeviceId, out var pending))
            {
                return;
            }

            // The lamp shows the commanded state: on at the level (within the tolerance), or off.
            var follows = on == pending.On && (!on || dim is null || Math.Abs(dim.Value - pending.DimPct) <= _options.LevelTolerancePct);
            if (follows)
            {
                _state.Pending.Remove(topic.DeviceId);
                Conclude(pending, CommandStatus.Confirmed, receivedAt, "telemetry");
            }
        }
    }

    /// <summary>
    /// A birth: remember the lamp's cabinet; a lamp that commands reach is sent its level (the last
    /// one commanded, else its schedule's) when it is new, or back with a newer birth than the last.
    /// </summary>
    private void Born(in DeviceTopic topic, Point point)
    {
        if (point.GetField("online") is not { Boolean: true })
        {
            return;
        }

        lock (_gate)
        {
            if (point.GetField("parent") is { Type: FieldType.String } parent && parent.Text is { } cabinet)
            {
                _dirty |= _lamps.SetParent(topic.DeviceId, cabinet);
            }

            var profile = point.GetField("profile")?.Text;
            if (profile is null || _profiles.Find(profile) is not { Commands.Count: > 0 })
            {
                return;
            }

            var lamp = _lamps[topic.DeviceId];
            if (lamp.Birth is { } last && point.Timestamp <= last)
            {
                return;
            }

            lamp.Birth = point.Timestamp;
            _dirty = true;
            var level = _state.Levels.GetValueOrDefault(topic.DeviceId);
            if (level is not null || ScheduleOf(topic.District, topic.Site) is not null)
            {
                _resend[topic.DeviceId] = level?.CommandId;
            }
        }
    }
}

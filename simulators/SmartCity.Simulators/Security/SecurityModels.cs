using System.Text.Json;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Physics;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Security;

/// <summary>
/// Opening hours and the alarm panel's state, shared by every security device of a building:
/// doors are used while open, the panel is disarmed a little before opening and armed a little
/// after closing, and a forced door while armed sets off the alarm for a while.
/// </summary>
public static class SecuritySchedule
{
    public static bool IsOpen(Scenario s, DateTimeOffset t)
    {
        var local = TimeZoneInfo.ConvertTime(t, s.TimeZone);
        var time = TimeOnly.FromDateTime(local.DateTime);
        return s.Security.OpeningHours.Any(h => h.Days.Contains(local.DayOfWeek) && time >= h.From && time < h.To);
    }

    public static bool IsArmed(Scenario s, DateTimeOffset t)
    {
        var local = TimeZoneInfo.ConvertTime(t, s.TimeZone);
        foreach (var (from, to) in Disarmed(s, DateOnly.FromDateTime(local.DateTime)))
        {
            if (t >= from && t < to)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Arm and disarm moments in (from, to], in order: (time, armed afterwards).</summary>
    public static IEnumerable<(DateTimeOffset At, bool Armed)> Transitions(Scenario s, DateTimeOffset from, DateTimeOffset to)
    {
        var first = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(from, s.TimeZone).DateTime);
        var last = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(to, s.TimeZone).DateTime);
        var list = new List<(DateTimeOffset, bool)>();
        for (var date = first; date <= last; date = date.AddDays(1))
        {
            foreach (var (disarm, arm) in Disarmed(s, date))
            {
                if (disarm > from && disarm <= to)
                {
                    list.Add((disarm, false));
                }

                if (arm > from && arm <= to)
                {
                    list.Add((arm, true));
                }
            }
        }

        return list.OrderBy(x => x.Item1);
    }

    private static IEnumerable<(DateTimeOffset From, DateTimeOffset To)> Disarmed(Scenario s, DateOnly date)
    {
        foreach (var h in s.Security.OpeningHours)
        {
            if (h.Days.Contains(date.DayOfWeek))
            {
                yield return (Local(s, date, h.From) - s.Security.DisarmLead, Local(s, date, h.To) + s.Security.ArmDelay);
            }
        }
    }

    private static DateTimeOffset Local(Scenario s, DateOnly date, TimeOnly time)
    {
        var local = date.ToDateTime(time);
        return new DateTimeOffset(local, s.TimeZone.GetUtcOffset(local));
    }

    /// <summary>The forced-door fault that has the building's panel in alarm at <paramref name="t"/>, if any.</summary>
    public static Fault? Alarm(GeneratorContext c, int building, DateTimeOffset t)
    {
        foreach (var f in c.Faults.ForcedDoors(building))
        {
            var at = c.Start + f.At;
            if (t >= at && t < at + c.Scenario.Security.AlarmDuration && IsArmed(c.Scenario, at))
            {
                return f;
            }
        }

        return null;
    }
}

/// <summary>Door contact (door_contact telemetry and events v1): people pass during opening hours; forced-door faults.</summary>
public sealed class DoorContactModel(GeneratorContext context) : DeviceModel(DeviceType.DoorContact, context)
{
    private static readonly TimeSpan ForcedOpenFor = TimeSpan.FromMinutes(2);
    private readonly List<(DateTimeOffset At, string Event, FaultKind? Fault)> _events = [];

    public override string Firmware => "1.2.3";

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        _events.Clear();
        var forcedNow = false;
        foreach (var f in Faults.For(device.Key))
        {
            if (f.Kind != FaultKind.DoorForced)
            {
                continue;
            }

            var at = Context.Start + f.At;
            var closes = at + (f.Duration ?? ForcedOpenFor);
            if (at > previous && at <= t)
            {
                _events.Add((at, "forced", FaultKind.DoorForced));
            }

            if (closes > previous && closes <= t)
            {
                _events.Add((closes, "closed", FaultKind.DoorForced));
            }

            forcedNow |= t >= at && t < closes;
            forcedNow |= at <= t && closes > previous;
        }

        if (!forcedNow && SecuritySchedule.IsOpen(Scenario, t))
        {
            // Passages: Poisson arrivals, each holding the door open a few seconds, all within this tick.
            var r = Random(device, n, 4);
            var passages = r.NextPoisson(Scenario.Security.DoorPassagesPerHour * Tick.TotalHours);
            var span = Tick - TimeSpan.FromSeconds(20);
            for (var p = 0; p < passages && span > TimeSpan.Zero; p++)
            {
                var opened = previous + (span * r.NextDouble()) + TimeSpan.FromMilliseconds(1);
                opened = DateTimeOffset.FromUnixTimeMilliseconds(opened.ToUnixTimeMilliseconds());
                _events.Add((opened, "opened", null));
                _events.Add((opened + TimeSpan.FromMilliseconds(r.NextInt(4_000, 15_000)), "closed", null));
            }
        }

        _events.Sort((a, b) => a.At.CompareTo(b.At));
        foreach (var (at, name, fault) in _events)
        {
            var json = device.Begin(at);
            json.WriteString("event", name);
            device.End(MessageKind.Event, at, fault);
        }

        if (n % TicksPerTelemetry == 0)
        {
            var open = Faults.Active(device.Key, FaultKind.DoorForced, t) is { } f2 && t < Context.Start + f2.At + (f2.Duration ?? ForcedOpenFor);
            var json = device.Begin(t);
            json.WriteBoolean("open", open);
            json.WriteBoolean("tamper", false);
            json.WriteNumber("battery_pct", Battery(device, t));
            device.End(MessageKind.Telemetry, t, open ? FaultKind.DoorForced : null);
        }
    }

    public override void WriteRequired(Utf8JsonWriter json) => json.WriteBoolean("open", false);

    public override void WriteOutOfRange(Utf8JsonWriter json)
    {
        json.WriteBoolean("open", false);
        json.WriteNumber("battery_pct", 250);
    }

    public override void WriteWrongType(Utf8JsonWriter json) => json.WriteNumber("open", 1);
}

/// <summary>Motion detector (motion_detector telemetry and events v1): motion while open, rarely at night, an intruder after a forced door.</summary>
public sealed class MotionDetectorModel : DeviceModel
{
    private static readonly TimeSpan HoldOff = TimeSpan.FromMinutes(3);
    private readonly long[] _lastMotion;
    private readonly long[] _lastEvent;

    public MotionDetectorModel(GeneratorContext context)
        : base(DeviceType.MotionDetector, context)
    {
        _lastMotion = new long[Count];
        _lastEvent = new long[Count];
    }

    public override string Firmware => "1.5.2";

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        var i = device.Index;
        var building = Context.Layout.BuildingOf(DeviceType.MotionDetector, i);
        var intruder = SecuritySchedule.Alarm(Context, building, t) is not null;
        var p = intruder ? 1 : SecuritySchedule.IsOpen(Scenario, t) ? Scenario.Security.MotionPerMinuteOpen : 0.003;
        var r = Random(device, n, 5);
        if (r.Chance(Math.Min(1, p * Tick.TotalMinutes)))
        {
            var at = DateTimeOffset.FromUnixTimeMilliseconds((previous + ((t - previous) * r.NextDouble())).ToUnixTimeMilliseconds() + 1);
            _lastMotion[i] = at.UtcTicks;
            // A detector reports motion once per hold-off period, not every time something moves.
            if (at.UtcTicks - _lastEvent[i] >= HoldOff.Ticks)
            {
                _lastEvent[i] = at.UtcTicks;
                var json = device.Begin(at);
                json.WriteString("event", "motion");
                device.End(MessageKind.Event, at, intruder ? FaultKind.DoorForced : null);
            }
        }

        if (n % TicksPerTelemetry == 0)
        {
            var json = device.Begin(t);
            json.WriteBoolean("motion", t.UtcTicks - _lastMotion[i] < Interval.Ticks);
            json.WriteBoolean("armed", SecuritySchedule.IsArmed(Scenario, t));
            json.WriteBoolean("tamper", false);
            json.WriteNumber("battery_pct", Battery(device, t));
            device.End(MessageKind.Telemetry, t);
        }
    }

    public override void WriteRequired(Utf8JsonWriter json) => json.WriteBoolean("motion", false);

    public override void WriteOutOfRange(Utf8JsonWriter json)
    {
        json.WriteBoolean("motion", false);
        json.WriteNumber("battery_pct", 250);
    }

    public override void WriteWrongType(Utf8JsonWriter json) => json.WriteString("motion", "no");
}

/// <summary>Camera (camera telemetry v1): a heartbeat every interval while online.</summary>
public sealed class CameraModel(GeneratorContext context) : DeviceModel(DeviceType.Camera, context)
{
    public override string Firmware => "5.0.7";

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        // Recordings fill a ring buffer: storage climbs over a week, then old footage is dropped.
        var phase = new DeterministicRandom(Seed, device.Key, 0x5709).NextDouble();
        var week = ((t - DateTimeOffset.UnixEpoch).TotalDays / 7) + phase;
        var json = device.Begin(t);
        json.WriteBoolean("online", true);
        json.WriteBoolean("recording", true);
        json.WriteNumber("storage_pct", Math.Round(60 + (35 * (week - Math.Floor(week))), 1));
        json.WriteBoolean("tamper", false);
        json.WriteBoolean("obstructed", false);
        device.End(MessageKind.Telemetry, t);
    }

    public override void WriteRequired(Utf8JsonWriter json)
    {
        json.WriteBoolean("online", true);
        json.WriteBoolean("recording", true);
    }

    public override void WriteOutOfRange(Utf8JsonWriter json)
    {
        WriteRequired(json);
        json.WriteNumber("storage_pct", 300);
    }

    public override void WriteWrongType(Utf8JsonWriter json)
    {
        json.WriteString("online", "true");
        json.WriteBoolean("recording", true);
    }
}

/// <summary>Alarm panel (alarm_panel telemetry and events v1): armed outside opening hours, alarm on a forced door while armed.</summary>
public sealed class AlarmPanelModel(GeneratorContext context) : DeviceModel(DeviceType.AlarmPanel, context)
{
    public override string Firmware => "4.2.0";

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        var building = device.Index;
        var events = new List<(DateTimeOffset At, string Event, FaultKind? Fault)>();
        foreach (var (at, armed) in SecuritySchedule.Transitions(Scenario, previous, t))
        {
            events.Add((at, armed ? "armed" : "disarmed", null));
        }

        foreach (var f in Faults.ForcedDoors(building))
        {
            var at = Context.Start + f.At;
            if (!SecuritySchedule.IsArmed(Scenario, at))
            {
                continue;
            }

            var raised = at + TimeSpan.FromSeconds(2); // entry zone: immediate alarm, after the contact reports
            var cleared = at + Scenario.Security.AlarmDuration;
            if (raised > previous && raised <= t)
            {
                events.Add((raised, "alarm", FaultKind.DoorForced));
            }

            if (cleared > previous && cleared <= t)
            {
                events.Add((cleared, "alarm_cleared", FaultKind.DoorForced));
            }
        }

        foreach (var (at, name, fault) in events.OrderBy(e => e.At))
        {
            var json = device.Begin(at);
            json.WriteString("event", name);
            device.End(MessageKind.Event, at, fault);
        }

        var alarmFault = SecuritySchedule.Alarm(Context, building, t);
        var alarm = alarmFault is not null && t >= Context.Start + alarmFault.At + TimeSpan.FromSeconds(2);
        var state = alarm ? "alarm" : SecuritySchedule.IsArmed(Scenario, t) ? "armed_away" : "disarmed";
        var telemetry = device.Begin(t);
        telemetry.WriteString("state", state);
        device.End(MessageKind.Telemetry, t, alarm ? FaultKind.DoorForced : null);
    }

    public override void WriteRequired(Utf8JsonWriter json) => json.WriteString("state", "disarmed");

    public override void WriteOutOfRange(Utf8JsonWriter json) => json.WriteString("state", "exploded");

    public override void WriteWrongType(Utf8JsonWriter json) => json.WriteBoolean("state", true);
}

/// <summary>Panic button (panic_button telemetry v1): a battery heartbeat.</summary>
public sealed class PanicButtonModel(GeneratorContext context) : DeviceModel(DeviceType.PanicButton, context)
{
    public override string Firmware => "1.0.4";

    public override void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous)
    {
        var json = device.Begin(t);
        json.WriteNumber("battery_pct", Battery(device, t));
        device.End(MessageKind.Telemetry, t);
    }

    public override void WriteRequired(Utf8JsonWriter json) => json.WriteNumber("battery_pct", 90);

    public override void WriteOutOfRange(Utf8JsonWriter json) => json.WriteNumber("battery_pct", 250);

    public override void WriteWrongType(Utf8JsonWriter json) => json.WriteString("battery_pct", "full");
}

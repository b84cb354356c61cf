using System.Text.Json;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Physics;

namespace SmartCity.Simulators.Scenarios;

/// <summary>
/// The behaviour of one device type. Per-device state lives in arrays of numbers indexed by
/// device, so a fleet costs tens of bytes per device and nothing per message.
/// </summary>
public abstract class DeviceModel
{
    protected DeviceModel(DeviceType type, GeneratorContext context)
    {
        Type = type;
        Context = context;
        Count = context.Scenario.Count(type);
        Interval = context.Scenario.Intervals[type];
        Tick = type.Tick(Interval);
        TicksPerTelemetry = Math.Max(1, (int)Math.Round(Interval / Tick));
    }

    public DeviceType Type { get; }

    public int Count { get; }

    /// <summary>Telemetry period (device time).</summary>
    public TimeSpan Interval { get; }

    /// <summary>How often <see cref="OnTick"/> runs for each device.</summary>
    public TimeSpan Tick { get; }

    protected int TicksPerTelemetry { get; }

    protected GeneratorContext Context { get; }

    protected Scenarios.Scenario Scenario => Context.Scenario;

    protected FaultPlan Faults => Context.Faults;

    protected int Seed => Context.Scenario.Seed;

    /// <summary>Tick <paramref name="n"/> of device <paramref name="index"/> at <paramref name="t"/>; the previous tick was at <paramref name="previous"/>.</summary>
    public abstract void OnTick(DeviceCursor device, long n, DateTimeOffset t, DateTimeOffset previous);

    /// <summary>A tick while the device is offline: nothing is sent; models reset what must not span the gap.</summary>
    public virtual void OnOffline(DeviceCursor device, DateTimeOffset t)
    {
    }

    /// <summary>Fields that a contract-valid minimal telemetry payload of this type needs (for malformed variants built from it).</summary>
    public abstract void WriteRequired(Utf8JsonWriter json);

    /// <summary>A payload of this type with one value out of its range.</summary>
    public abstract void WriteOutOfRange(Utf8JsonWriter json);

    /// <summary>The first required field, sent with the wrong JSON type.</summary>
    public abstract void WriteWrongType(Utf8JsonWriter json);

    public virtual string Firmware => "2.4.1";

    protected DeterministicRandom Random(DeviceCursor device, long a, long b = 0) => new(Seed, device.Key, a, b);

    /// <summary>A battery level that drifts down slowly (about 1% a week) from a per-device start.</summary>
    protected double Battery(DeviceCursor device, DateTimeOffset t)
    {
        var r = new DeterministicRandom(Seed, device.Key, 0xBA77);
        var level = 60 + (40 * r.NextDouble()) - ((t - Context.Start).TotalDays / 7);
        return Math.Round(Math.Clamp(level, 1, 100));
    }
}

/// <summary>The device a model is working on, and the messages it emits.</summary>
public readonly struct DeviceCursor(GeneratorContext context, DeviceType type, int index, int key, string topicPrefix, DateTimeOffset tickTime)
{
    public DeviceType Type => type;

    public int Index => index;

    public int Key => key;

    public DateTimeOffset TickTime => tickTime;

    /// <summary>Starts a payload stamped by the device clock at true time <paramref name="at"/> (skewed by a clock fault).</summary>
    public Utf8JsonWriter Begin(DateTimeOffset at) => context.Writer.Begin(DeviceClock(at));

    public DateTimeOffset DeviceClock(DateTimeOffset at) => at + context.Faults.SkewAt(key, at);

    /// <summary>Ends the payload started with <see cref="Begin"/> and queues it on the <paramref name="kind"/> topic.</summary>
    public void End(MessageKind kind, DateTimeOffset at, FaultKind? fault = null)
    {
        var payload = context.Writer.End();
        var skewFault = context.Faults.SkewAt(key, at) != TimeSpan.Zero ? FaultKind.ClockSkew : (FaultKind?)null;
        context.Add(new ScenarioMessage(
            topicPrefix + KindSegment(kind), payload, type.DeviceId(index), DeviceClock(at), tickTime, key, type, kind,
            Retain: kind == MessageKind.Status, ConnectionAction.None, fault ?? skewFault));
    }

    /// <summary>Queues a raw payload on the telemetry topic (malformed bursts).</summary>
    public void Raw(byte[] payload, DateTimeOffset at, FaultKind fault) =>
        context.Add(new ScenarioMessage(topicPrefix + "telemetry", payload, type.DeviceId(index), DeviceClock(at), tickTime, key, type, MessageKind.Telemetry, false, ConnectionAction.None, fault));

    public void Status(byte[] payload, DateTimeOffset at, ConnectionAction action, FaultKind? fault) =>
        context.Add(new ScenarioMessage(topicPrefix + "status", payload, type.DeviceId(index), DeviceClock(at), tickTime, key, type, MessageKind.Status, true, action, fault));

    private static string KindSegment(MessageKind kind) => kind switch
    {
        MessageKind.Telemetry => "telemetry",
        MessageKind.Event => "event",
        _ => "status",
    };
}

using SmartCity.Simulators.Faults;
using SmartCity.Simulators.Lighting;

namespace SmartCity.Simulators.Devices;

public enum MessageKind
{
    Telemetry,
    Status,
    Event,
}

/// <summary>What a message means for the device's MQTT connection (in per-device connection mode).</summary>
public enum ConnectionAction
{
    None,

    /// <summary>The device (re)connects, with its last will set, and publishes this retained birth message.</summary>
    Birth,

    /// <summary>
    /// The device drops off. Per-device connections disconnect with reason "disconnect with will
    /// message", so the broker itself publishes the will; a gateway publishes this payload (the
    /// will) on the device's behalf, retained, as the broker would.
    /// </summary>
    Will,
}

/// <summary>
/// One message of a scenario's stream. <see cref="Timestamp"/> is the device's own clock (its
/// <c>ts</c>, shifted by a clock-skew fault); <see cref="SimTime"/> is when it is sent, in
/// simulated time, which paces it. <see cref="Fault"/> names the fault that shaped it, for tests
/// and logs only (it is not on the wire).
/// </summary>
public readonly record struct ScenarioMessage(
    string Topic,
    byte[] Payload,
    string DeviceId,
    DateTimeOffset Timestamp,
    DateTimeOffset SimTime,
    int DeviceKey,
    DeviceType DeviceType,
    MessageKind Kind,
    bool Retain,
    ConnectionAction Action,
    FaultKind? Fault)
{
    public SimulatedMessage ToSimulated() => new(Topic, Payload, DeviceId, Timestamp);
}

using SmartCity.Telemetry.Devices;

namespace SmartCity.Telemetry.Ingest;

/// <summary>
/// Sees every accepted device message (telemetry, event, status) after alerting, in arrival order,
/// before it is spooled: lighting control confirms commands with it. Called on the ingest path, so
/// it must only record what it needs and return (no I/O).
/// </summary>
public interface IDeviceMessageObserver
{
    void Observe(in DeviceTopic topic, Point point, DateTimeOffset receivedAt);
}

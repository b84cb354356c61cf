namespace SmartCity.Telemetry.Alerting.Hosting;

public sealed partial class AlertingService
{
    /// <summary>
    /// An event the worker concluded about a device (see <see cref="Engine.AlertEngine.ObserveReported"/>),
    /// through the same queue as everything else, so its alert is stored and notified like any other.
    /// </summary>
    public ValueTask ReportEventAsync(DeviceIdentity identity, string profileId, string eventValue, string detail, DateTimeOffset at, CancellationToken cancellationToken) =>
        EnqueueAsync(() => _engine.ObserveReported(identity, profileId, eventValue, detail, at), cancellationToken);
}

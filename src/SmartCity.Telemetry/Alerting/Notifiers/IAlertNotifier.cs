namespace SmartCity.Telemetry.Alerting.Notifiers;

/// <summary>
/// Tells people or systems about alert transitions (MQTT state, webhook, mail). Called in order,
/// after the engine's state is updated; in the worker each one sits behind its own
/// <see cref="QueuedAlertNotifier"/>. ("Sink" is the storage word: InfluxDB is a sink.)
/// </summary>
public interface IAlertNotifier
{
    ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken);
}

using System.Buffers;

namespace SmartCity.Telemetry.Source;

/// <summary>One message as the client delivers it; <see cref="AckToken"/> is what <see cref="IMqttSourceClient.AcknowledgeAsync"/> needs.</summary>
public readonly record struct SourceMessage(string Topic, ReadOnlySequence<byte> Payload, object AckToken);

/// <summary>Why the connection ended (for the log) and whether it had been up.</summary>
public readonly record struct SourceDisconnect(bool ClientWasConnected, string Reason, string? Error);

/// <summary>
/// The seam between the source and the MQTT library: the few operations the source's
/// connect/subscribe/reconnect/watchdog logic needs, so that logic runs against a fake in unit tests.
/// Messages are always acknowledged manually (<see cref="AcknowledgeAsync"/>), never automatically.
/// </summary>
public interface IMqttSourceClient : IDisposable
{
    bool IsConnected { get; }

    /// <summary>Called for each message, in order; the next one waits until the task completes.</summary>
    Func<SourceMessage, Task>? MessageReceived { get; set; }

    Func<SourceDisconnect, Task>? Disconnected { get; set; }

    /// <summary>Connects with a persistent MQTT 5 session; returns whether the broker kept the session. Throws if refused.</summary>
    Task<bool> ConnectAsync(MqttSourceOptions options, CancellationToken cancellationToken);

    /// <summary>Subscribes at QoS 1; throws if the broker refuses a filter.</summary>
    Task SubscribeAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken);

    Task UnsubscribeAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken);

    /// <summary>Drops the connection (<paramref name="normal"/>: with the normal-disconnection reason, as on stop).</summary>
    Task DisconnectAsync(bool normal, CancellationToken cancellationToken);

    Task AcknowledgeAsync(object ackToken, CancellationToken cancellationToken);

    /// <summary>The message will not be acknowledged (the connection that delivered it is gone): whatever counts it in memory lets it go.</summary>
    void Abandon(object ackToken)
    {
    }
}

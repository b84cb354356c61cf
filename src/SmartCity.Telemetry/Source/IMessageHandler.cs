using System.Buffers;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// Where the source hands each message (the ingest stage in the worker). The source knows nothing of
/// decoding or storage: it delivers in arrival order, one at a time, and the handler acknowledges
/// through <paramref name="acknowledge"/> once the message is durable.
/// </summary>
public interface IMessageHandler
{
    /// <param name="topic">The MQTT topic.</param>
    /// <param name="payload">Valid only until the returned task completes (the buffer belongs to the client).</param>
    /// <param name="acknowledge">Sends the PUBACK; fails if the connection that delivered the message is gone.</param>
    /// <param name="intake">Cancelled when the source stops taking messages; an unfinished message stays unacknowledged.</param>
    Task HandleAsync(string topic, ReadOnlySequence<byte> payload, Func<CancellationToken, Task> acknowledge, CancellationToken intake);

    /// <summary>
    /// Intake is closed: write and acknowledge what is held, then give the sinks up to
    /// <paramref name="timeout"/> to store it. Whatever is left stays durable for the next start.
    /// </summary>
    Task DrainAsync(TimeSpan timeout, CancellationToken cancellationToken);
}

namespace SmartCity.Telemetry.Source;

/// <summary>
/// Mqtt:ReceiveLinger: after a read that had to wait for the socket (the broker's next message was not
/// there yet, so the receive loop slept and was woken for one packet), the next read waits this long
/// first, and then finds whatever arrived meanwhile already in the socket. At a city's paced rates each
/// message used to wake the whole chain (socket engine, MQTTnet's receive loop, its publish queue, the
/// ingest stage) on its own: 2.9 context switches and 114 us of CPU per message at 2,000 msg/s against
/// 54 us at the max rate (docs/performance.md, issue 25). Waiting a few milliseconds lets those wake-ups
/// carry a handful of messages each. A read that finds data (a backlog) never waits; a message waits at
/// most this long in the socket before it is read. Measured (docs/performance.md): it helps the max rate
/// (reads there often find the socket just emptied) far more than paced rates, and costs p99 at 4,000
/// msg/s, so it is off by default (<see cref="MqttSourceOptions.ReceiveLinger"/>).
/// </summary>
public sealed class ReceiveLinger(TimeSpan linger, TimeProvider time)
{
    public TimeSpan Linger { get; } = linger;

    public bool IsEnabled => Linger > TimeSpan.Zero;

    public Task WaitAsync(CancellationToken cancellationToken) => Task.Delay(Linger, time, cancellationToken);
}

using MQTTnet.Protocol;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// The acknowledgement of one message, bound to the connection that read it: a packet identifier names
/// a message only on its own connection, so the ack is sent there or not at all (the broker redelivers
/// what a dead connection did not acknowledge). Settled once: acknowledged or abandoned, the message
/// leaves the receive backlog exactly once.
/// </summary>
internal sealed class DirectAck(BacklogChannelAdapter connection, ushort packetIdentifier, MqttQualityOfServiceLevel qualityOfService)
{
    private int _settled;

    public ushort PacketIdentifier => packetIdentifier;

    public MqttQualityOfServiceLevel QualityOfService => qualityOfService;

    public Task AcknowledgeAsync(CancellationToken cancellationToken) => connection.AcknowledgeAsync(this, cancellationToken);

    public void Abandon() => connection.Abandon(this);

    /// <summary>True the first time only.</summary>
    internal bool Settle() => Interlocked.Exchange(ref _settled, 1) == 0;
}

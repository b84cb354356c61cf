using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>
/// One MQTT connection without a socket: packets queued in <see cref="Incoming"/> are read as the broker's,
/// packets sent are recorded. <see cref="AnswerLikeABroker"/>: CONNECT gets a CONNACK and PINGREQ a PINGRESP,
/// queued behind what is already unread (as in a socket).
/// </summary>
internal sealed class ScriptedConnection : IMqttChannelAdapter
{
    public Channel<MqttPacket> Incoming { get; } = Channel.CreateUnbounded<MqttPacket>();

    public ConcurrentQueue<MqttPacket> Sent { get; } = new();

    public bool AnswerLikeABroker { get; init; }

    public long BytesReceived => 0;

    public long BytesSent => 0;

    public X509Certificate2 ClientCertificate => null!;

    public EndPoint RemoteEndPoint => new IPEndPoint(IPAddress.Loopback, 1883);

    public EndPoint LocalEndPoint => new IPEndPoint(IPAddress.Loopback, 50000);

    public bool IsSecureConnection => false;

    public MqttPacketFormatterAdapter PacketFormatterAdapter { get; } = new(MqttProtocolVersion.V500, new MqttBufferWriter(4096, 65536));

    /// <summary>Reads asked of the socket.</summary>
    public int Reads { get; private set; }

    public int PingsSent => Sent.Count(p => p is MqttPingReqPacket);

    public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DisconnectAsync(CancellationToken cancellationToken)
    {
        Incoming.Writer.TryComplete();
        return Task.CompletedTask;
    }

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        Sent.Enqueue(packet);
        if (AnswerLikeABroker && packet is MqttConnectPacket)
        {
            Incoming.Writer.TryWrite(new MqttConnAckPacket { ReasonCode = MqttConnectReasonCode.Success, IsSessionPresent = true });
        }
        else if (AnswerLikeABroker && packet is MqttPingReqPacket)
        {
            Incoming.Writer.TryWrite(MqttPingRespPacket.Instance);
        }

        return Task.CompletedTask;
    }

    public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        Reads++;
        // A closed connection reads as null, as MQTTnet's adapter returns it.
        return await Incoming.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false) && Incoming.Reader.TryRead(out var packet) ? packet : null!;
    }

    public void ResetStatistics()
    {
    }

    public void Dispose()
    {
    }
}

/// <summary>Hands MQTTnet one scripted connection per connect.</summary>
internal sealed class ScriptedConnections(bool answerLikeABroker = true) : IMqttClientAdapterFactory
{
    public ScriptedConnection Last { get; private set; } = null!;

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger) =>
        Last = new ScriptedConnection { AnswerLikeABroker = answerLikeABroker };
}

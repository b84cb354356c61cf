using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Packets;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// MQTTnet's channel adapter with the source's delivery on its receive path. MQTTnet 5's receive loop
/// puts each PUBLISH in a private queue that a second task empties to raise ApplicationMessageReceivedAsync:
/// a thread-pool hand-off (and often a wake-up of one more pool thread) per message that finds that task
/// parked (docs/performance.md, issue 25, thread wake-ups). Here the adapter takes every PUBLISH it reads
/// off that path: the handler gets it at once, on the thread that read it, and the next packet is read
/// only once the handler's task completed (one message at a time, in order, as MQTTnet did). MQTTnet only
/// ever sees the other packets (acks of its own requests, PINGRESP, PUBREL, DISCONNECT, AUTH).
/// The receive backlog's gate stays in front of every read (MQTTnet 5 has no setting for it): at the
/// bound, or while the handler still holds a message, the reader waits, and answers a ping meanwhile.
/// </summary>
internal sealed partial class BacklogChannelAdapter(IMqttChannelAdapter inner, ReceiveBacklog backlog, Func<SourceMessage, Task> deliver, ReceiveLinger? linger = null) : IMqttChannelAdapter
{
    // The handler's task for the last message handed over. Only the receive loop (one read at a time) touches it.
    private Task _handling = Task.CompletedTask;

    // Set when the last read had to wait for the socket: the next read lingers first (see ReceiveLinger).
    private bool _lingerBeforeNextRead;
    private long _lingers;

    public long BytesReceived => inner.BytesReceived;

    public long BytesSent => inner.BytesSent;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

    /// <summary>Messages read after a linger (the socket had them waiting), for tests and diagnostics.</summary>
    public long Lingers => Interlocked.Read(ref _lingers);

    /// <summary>PUBLISH packets this connection read and handed to the handler.</summary>
    public long Delivered { get; private set; }

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    public void ResetStatistics() => inner.ResetStatistics();

    /// <summary>
    /// Reads until a packet MQTTnet must see arrives, handing every PUBLISH to the handler on the way.
    /// The common case (data in the socket, handler done at once) loops here without an async state
    /// machine; anything that has to wait goes on in <see cref="ReceiveAsync"/>.
    /// </summary>
    public Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        while (HandlerDone() && !backlog.Held && !(_lingerBeforeNextRead && linger is { IsEnabled: true }))
        {
            var read = inner.ReceivePacketAsync(cancellationToken);
            if (!read.IsCompletedSuccessfully)
            {
                return ReceiveAsync(read, cancellationToken);
            }

            if (!TakeOver(read.Result))
            {
                return read;
            }
        }

        return ReceiveAsync(null, cancellationToken);
    }

    private async Task<MqttPacket> ReceiveAsync(Task<MqttPacket>? read, CancellationToken cancellationToken)
    {
        while (true)
        {
            if (read is null)
            {
                if (await HoldAsync(cancellationToken).ConfigureAwait(false))
                {
                    // MQTTnet pinged while we held the reader: the ping's answer may sit unread in the socket.
                    return MqttPingRespPacket.Instance;
                }

                if (_lingerBeforeNextRead && linger is { IsEnabled: true })
                {
                    _lingerBeforeNextRead = false;
                    // Counted once the wait is set up (tests advance a fake clock once they see it).
                    var lingering = linger.WaitAsync(cancellationToken);
                    Interlocked.Increment(ref _lingers);
                    await lingering.ConfigureAwait(false);
                }

                read = inner.ReceivePacketAsync(cancellationToken);
            }

            if (!read.IsCompleted)
            {
                await read.ConfigureAwait(false);
                // This read waited for the socket: the receive loop was woken for this one packet.
                _lingerBeforeNextRead = true;
            }

            var packet = await read.ConfigureAwait(false);
            read = null;
            if (!TakeOver(packet))
            {
                return packet;
            }
        }
    }

    /// <summary>A PUBLISH goes to the handler (true); anything else is MQTTnet's (false).</summary>
    private bool TakeOver(MqttPacket? packet)
    {
        if (packet is MqttPublishPacket publish)
        {
            backlog.Read();
            Delivered++;
            _handling = Deliver(publish);
            return true;
        }

        if (packet is MqttPingRespPacket)
        {
            Interlocked.Exchange(ref _pingOutstanding, 0);
        }

        return false;
    }

    private Task Deliver(MqttPublishPacket publish)
    {
        // The payload stays valid after the handler returns: MQTTnet 5.2's decoder copies it into an
        // array of its own per packet (MqttBufferReader.ReadRemainingData), never a reused read buffer.
        // The topic is the packet's as MQTTnet gave it: MQTTnet 5.2 does not resolve topic aliases either,
        // and the source never allows the broker any (no Topic Alias Maximum in its CONNECT).
        var ack = new DirectAck(this, publish.PacketIdentifier, publish.QualityOfServiceLevel);
        try
        {
            return deliver(new SourceMessage(publish.Topic ?? "", publish.Payload, ack));
        }
        catch (Exception ex)
        {
            // As with MQTTnet's handler task: a failing handler does not stop the connection's reading;
            // the message stays unacknowledged (the broker has it in the session).
            return Task.FromException(ex);
        }
    }

    /// <summary>True once the last message's handler finished (a failure is observed and, as in MQTTnet, not fatal).</summary>
    private bool HandlerDone()
    {
        if (!_handling.IsCompleted)
        {
            return false;
        }

        if (_handling.IsFaulted)
        {
            _ = _handling.Exception;
            _handling = Task.CompletedTask;
        }

        return true;
    }
}

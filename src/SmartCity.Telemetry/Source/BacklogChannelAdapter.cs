using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// MQTTnet's channel adapter with the receive backlog's gate in front of every read: MQTTnet 5 has
/// no setting for it (its receive loop reads and queues without limit), but it takes an adapter
/// factory. One adapter per connection; it counts the PUBLISH packets it read and those handed to
/// the message handler, and on disposal releases the ones MQTTnet dropped with the connection.
/// </summary>
internal sealed class BacklogAdapterFactory(ReceiveBacklog backlog, IMqttClientAdapterFactory? inner = null, ReceiveLinger? linger = null) : IMqttClientAdapterFactory
{
    private readonly IMqttClientAdapterFactory _inner = inner ?? new MqttClientAdapterFactory();
    private readonly List<BacklogChannelAdapter> _live = [];

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        var adapter = new BacklogChannelAdapter(_inner.CreateClientAdapter(options, packetInspector, logger), backlog, Forget, linger);
        lock (_live)
        {
            _live.Add(adapter);
        }

        return adapter;
    }

    /// <summary>
    /// A message reached the handler: credited to the connection that read it (the oldest live one
    /// holding its packet identifier undelivered), not simply the newest connection, so a message
    /// of a dropped connection handed over after a reconnect is not counted on the new one. False:
    /// no live connection holds it (its connection was disposed and released it already), so its
    /// ack or abandonment must not release it a second time.
    /// </summary>
    public bool Delivered(ushort packetIdentifier)
    {
        lock (_live)
        {
            foreach (var adapter in _live)
            {
                if (adapter.TryDeliver(packetIdentifier))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private void Forget(BacklogChannelAdapter adapter)
    {
        lock (_live)
        {
            _live.Remove(adapter);
        }
    }
}

internal sealed class BacklogChannelAdapter(IMqttChannelAdapter inner, ReceiveBacklog backlog, Action<BacklogChannelAdapter>? disposed = null, ReceiveLinger? linger = null) : IMqttChannelAdapter
{
    // Packet identifiers read and not yet handed over, with a count (QoS 0 messages all have 0, and
    // the broker may resend an identifier). Guarded by itself, as are _delivered and _disposed.
    private readonly Dictionary<ushort, int> _undelivered = [];
    private long _read;
    private long _delivered;
    private bool _disposed;
    private TaskCompletionSource? _pingWhileHeld;
    private int _pingOutstanding;

    // Set when the last read had to wait for the socket: the next read lingers first (see ReceiveLinger).
    // Only MQTTnet's receive loop reads, one read at a time, so a plain field.
    private bool _lingerBeforeNextRead;

    public long BytesReceived => inner.BytesReceived;

    public long BytesSent => inner.BytesSent;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        if (packet is not MqttPingReqPacket)
        {
            return inner.SendPacketAsync(packet, cancellationToken);
        }

        Interlocked.Exchange(ref _pingOutstanding, 1);
        if (Interlocked.CompareExchange(ref _pingWhileHeld, null, null) is { } held)
        {
            // MQTTnet pings after a keep-alive period without sending (no acks: the spool is stalled)
            // and drops the connection if no PINGRESP is read in time; but reading is held on purpose.
            // The held reader answers it (the send succeeded); the broker's real PINGRESP is read,
            // and ignored by MQTTnet, once reading resumes.
            var sent = inner.SendPacketAsync(packet, cancellationToken);
            sent.ContinueWith(static (t, h) => { if (t.IsCompletedSuccessfully) { ((TaskCompletionSource)h!).TrySetResult(); } }, held, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return sent;
        }

        return inner.SendPacketAsync(packet, cancellationToken);
    }

    public void ResetStatistics() => inner.ResetStatistics();

    public Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
    {
        if (backlog.AtLimit)
        {
            return ReceiveWhenRoomAsync(cancellationToken);
        }

        if (_lingerBeforeNextRead && linger is { IsEnabled: true })
        {
            _lingerBeforeNextRead = false;
            return ReceiveAfterLingerAsync(linger, cancellationToken);
        }

        return Read(cancellationToken);
    }

    /// <summary>Messages read after a linger (the socket had them waiting), for tests and diagnostics.</summary>
    public long Lingers { get; private set; }

    private Task<MqttPacket> Read(CancellationToken cancellationToken)
    {
        // The common case stays as cheap as MQTTnet's own: no extra state machine when the read completed.
        var read = inner.ReceivePacketAsync(cancellationToken);
        if (read.IsCompletedSuccessfully)
        {
            Count(read.Result);
            return read;
        }

        return CountWhenReadAsync(read);
    }

    private async Task<MqttPacket> ReceiveAfterLingerAsync(ReceiveLinger lingering, CancellationToken cancellationToken)
    {
        Lingers++;
        await lingering.WaitAsync(cancellationToken).ConfigureAwait(false);
        return await Read(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A message this connection read reached the handler (without its identifier: the oldest read).</summary>
    public void Delivered()
    {
        lock (_undelivered)
        {
            _delivered++;
        }
    }

    /// <summary>Hands over the message with <paramref name="packetIdentifier"/> if this live connection read it and has not handed it over yet.</summary>
    public bool TryDeliver(ushort packetIdentifier)
    {
        lock (_undelivered)
        {
            if (_disposed || !_undelivered.TryGetValue(packetIdentifier, out var count))
            {
                return false;
            }

            if (count == 1)
            {
                _undelivered.Remove(packetIdentifier);
            }
            else
            {
                _undelivered[packetIdentifier] = count - 1;
            }

            _delivered++;
            return true;
        }
    }

    public void Dispose()
    {
        long dropped;
        lock (_undelivered)
        {
            // Under the lock with TryDeliver: a message is either handed over or released here, never both.
            dropped = _disposed ? 0 : Interlocked.Read(ref _read) - _delivered;
            _disposed = true;
            _undelivered.Clear();
        }

        // MQTTnet disposes the adapter after its tasks ended: what was read but never handed to the
        // handler died with its queue (unacknowledged: the broker sends it again).
        backlog.Release(dropped);
        disposed?.Invoke(this);
        inner.Dispose();
    }

    private async Task<MqttPacket> ReceiveWhenRoomAsync(CancellationToken cancellationToken)
    {
        var ping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _pingWhileHeld, ping);
        try
        {
            while (backlog.AtLimit)
            {
                // A ping sent before or during the hold: its answer may sit unread in the socket.
                if (Interlocked.Exchange(ref _pingOutstanding, 0) == 1)
                {
                    return MqttPingRespPacket.Instance;
                }

                var room = backlog.WaitForRoomAsync(cancellationToken);
                if (await Task.WhenAny(room, ping.Task).ConfigureAwait(false) == room)
                {
                    await room.ConfigureAwait(false); // throws when the connection is closing
                }
                else
                {
                    ping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    Interlocked.Exchange(ref _pingWhileHeld, ping);
                }
            }
        }
        finally
        {
            Interlocked.Exchange(ref _pingWhileHeld, null);
        }

        return await CountWhenReadAsync(inner.ReceivePacketAsync(cancellationToken)).ConfigureAwait(false);
    }

    private async Task<MqttPacket> CountWhenReadAsync(Task<MqttPacket> read)
    {
        var packet = await read.ConfigureAwait(false);
        // This read waited for the socket: the receive loop was woken for this one packet.
        _lingerBeforeNextRead = true;
        Count(packet);
        return packet;
    }

    private void Count(MqttPacket? packet)
    {
        if (packet is MqttPublishPacket publish)
        {
            lock (_undelivered)
            {
                _undelivered[publish.PacketIdentifier] = _undelivered.GetValueOrDefault(publish.PacketIdentifier) + 1;
            }

            Interlocked.Increment(ref _read);
            backlog.Read();
        }
        else if (packet is MqttPingRespPacket)
        {
            Interlocked.Exchange(ref _pingOutstanding, 0);
        }
    }
}

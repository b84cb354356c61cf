using MQTTnet.Packets;
using MQTTnet.Protocol;

namespace SmartCity.Telemetry.Source;

/// <summary>The held reader and its pings, and the acknowledgements sent on this connection.</summary>
internal sealed partial class BacklogChannelAdapter
{
    private TaskCompletionSource? _pingWhileHeld;
    private int _pingOutstanding;
    private volatile bool _disposed;

    public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken)
    {
        if (packet is not MqttPingReqPacket)
        {
            return inner.SendPacketAsync(packet, cancellationToken);
        }

        Interlocked.Exchange(ref _pingOutstanding, 1);
        if (Interlocked.CompareExchange(ref _pingWhileHeld, null, null) is { } held)
        {
            // MQTTnet pings after a keep-alive period without sending through it (our own PUBACKs do not
            // count, nor does anything while the spool is stalled) and drops the connection if no PINGRESP
            // is read in time; but reading is held on purpose. The held reader answers it (the send
            // succeeded); the broker's real PINGRESP is read, and ignored by MQTTnet, once reading resumes.
            var sent = inner.SendPacketAsync(packet, cancellationToken);
            sent.ContinueWith(static (t, h) => { if (t.IsCompletedSuccessfully) { ((TaskCompletionSource)h!).TrySetResult(); } }, held, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return sent;
        }

        return inner.SendPacketAsync(packet, cancellationToken);
    }

    /// <summary>
    /// Waits until the handler finished the last message and the backlog has room. True: a ping was sent
    /// before or during the wait, to be answered now. The handler is waited for without cancellation, as
    /// MQTTnet waited for its handler task on a disconnect: the next connection's messages never overlap
    /// the last one of this connection.
    /// </summary>
    private async Task<bool> HoldAsync(CancellationToken cancellationToken)
    {
        if (HandlerDone() && !backlog.Held)
        {
            return false;
        }

        var ping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _pingWhileHeld, ping);
        try
        {
            while (true)
            {
                if (Interlocked.Exchange(ref _pingOutstanding, 0) == 1)
                {
                    return true;
                }

                var handled = HandlerDone();
                if (handled && !backlog.Held)
                {
                    return false;
                }

                var wait = handled ? backlog.WaitForRoomAsync(cancellationToken) : _handling;
                if (await Task.WhenAny(wait, ping.Task).ConfigureAwait(false) == ping.Task)
                {
                    ping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    Interlocked.Exchange(ref _pingWhileHeld, ping);
                }
                else if (handled)
                {
                    await wait.ConfigureAwait(false); // throws when the connection is closing
                }
            }
        }
        finally
        {
            Interlocked.Exchange(ref _pingWhileHeld, null);
        }
    }

    /// <summary>
    /// Sends the message's acknowledgement on this connection (PUBACK, reason Success; PUBREC for QoS 2,
    /// MQTTnet answers the PUBREL) through MQTTnet's adapter, whose send lock serialises it with MQTTnet's
    /// own sends. QoS 0 sends nothing. Either way the message leaves the receive backlog; on a connection
    /// that is gone nothing is sent and the task fails (the broker redelivers).
    /// </summary>
    internal Task AcknowledgeAsync(DirectAck ack, CancellationToken cancellationToken)
    {
        if (!ack.Settle())
        {
            return Task.CompletedTask;
        }

        if (ack.QualityOfService == MqttQualityOfServiceLevel.AtMostOnce)
        {
            backlog.Release();
            return Task.CompletedTask;
        }

        if (_disposed)
        {
            backlog.Release();
            return Task.FromException(new InvalidOperationException("the connection that delivered the message is gone"));
        }

        MqttPacket packet = ack.QualityOfService == MqttQualityOfServiceLevel.AtLeastOnce
            ? new MqttPubAckPacket { PacketIdentifier = ack.PacketIdentifier, ReasonCode = MqttPubAckReasonCode.Success }
            : new MqttPubRecPacket { PacketIdentifier = ack.PacketIdentifier, ReasonCode = MqttPubRecReasonCode.Success };
        Task sent;
        try
        {
            sent = inner.SendPacketAsync(packet, cancellationToken);
        }
        catch (Exception ex)
        {
            backlog.Release();
            return Task.FromException(ex);
        }

        if (sent.IsCompleted)
        {
            // Sent (or failed: the broker redelivers): either way the message leaves the worker's memory.
            backlog.Release();
            return sent;
        }

        return ReleaseWhenSentAsync(sent);
    }

    /// <summary>A message that will never be acknowledged (its connection is gone): it leaves the backlog.</summary>
    internal void Abandon(DirectAck ack)
    {
        if (ack.Settle())
        {
            backlog.Release();
        }
    }

    private async Task ReleaseWhenSentAsync(Task sent)
    {
        try
        {
            await sent.ConfigureAwait(false);
        }
        finally
        {
            backlog.Release();
        }
    }

    public void Dispose()
    {
        // Every message read was handed over on the spot: each leaves the backlog through its own
        // DirectAck (acknowledged, failed because this connection is gone, or abandoned).
        _disposed = true;
        inner.Dispose();
    }
}

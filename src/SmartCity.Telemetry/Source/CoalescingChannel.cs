using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Channel;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// MQTTnet's TCP client adapter over a <see cref="CoalescingChannel"/> (Mqtt:CoalesceAcks): built the
/// way MQTTnet's own factory builds it, with only the channel wrapped. Other transports (WebSocket)
/// are left to MQTTnet's factory.
/// </summary>
internal sealed class CoalescingAdapterFactory : IMqttClientAdapterFactory
{
    private readonly MqttClientAdapterFactory _plain = new();

    public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger)
    {
        if (options.ChannelOptions is not MqttClientTcpOptions)
        {
            return _plain.CreateClientAdapter(options, packetInspector, logger);
        }

        var formatter = new MqttPacketFormatterAdapter(options.ProtocolVersion, new MqttBufferWriter(options.WriterBufferSize, options.WriterBufferSizeMax));
        return new MqttChannelAdapter(new CoalescingChannel(new MqttTcpChannel(options)), formatter, logger)
        {
            AllowPacketFragmentation = options.AllowPacketFragmentation,
            PacketInspector = packetInspector,
        };
    }
}

/// <summary>
/// Joins the packets MQTTnet writes in a burst into one socket write. MQTTnet sends every PUBACK on
/// its own (one send system call, and one wake-up of the broker, per message), and the spool
/// acknowledges a whole group commit at once: here a write is copied into a buffer and completes at
/// once, and one flusher writes everything buffered meanwhile, in order. Acks still follow the fsync;
/// they only leave together. A failed write fails the next one (MQTTnet then drops the connection
/// and the broker sends again what was not acknowledged).
/// </summary>
internal sealed class CoalescingChannel(IMqttChannel inner) : IMqttChannel
{
    private readonly Lock _lock = new();
    private ArrayBufferWriter<byte> _pending = new(4096);
    private ArrayBufferWriter<byte> _spare = new(4096);
    private bool _flushing;
    private Exception? _failure;
    private TaskCompletionSource? _drained;

    public X509Certificate2 ClientCertificate => inner.ClientCertificate;

    public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

    public EndPoint LocalEndPoint => inner.LocalEndPoint;

    public bool IsSecureConnection => inner.IsSecureConnection;

    /// <summary>Socket writes made (each possibly many packets), for tests and diagnostics.</summary>
    public long Flushes { get; private set; }

    public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

    public async Task DisconnectAsync(CancellationToken cancellationToken)
    {
        // What was written before (a DISCONNECT, the last acks) goes out before the connection closes.
        Task drained;
        lock (_lock)
        {
            drained = !_flushing ? Task.CompletedTask : (_drained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }

        await drained.WaitAsync(cancellationToken).ConfigureAwait(false);
        await inner.DisconnectAsync(cancellationToken).ConfigureAwait(false);
    }

    public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.ReadAsync(buffer, offset, count, cancellationToken);

    public Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_failure is not null)
            {
                return Task.FromException(_failure);
            }

            foreach (var segment in buffer)
            {
                _pending.Write(segment.Span);
            }

            // A packet written in parts waits for its end; a flusher already running takes it along.
            if (!isEndOfPacket || _flushing)
            {
                return Task.CompletedTask;
            }

            _flushing = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static channel => _ = channel.FlushAsync(), this, preferLocal: true);
        return Task.CompletedTask;
    }

    public void Dispose() => inner.Dispose();

    private async Task FlushAsync()
    {
        while (true)
        {
            ArrayBufferWriter<byte> batch;
            lock (_lock)
            {
                if (_pending.WrittenCount == 0)
                {
                    Finish(null);
                    return;
                }

                batch = _pending;
                _pending = _spare;
            }

            try
            {
                await inner.WriteAsync(new ReadOnlySequence<byte>(batch.WrittenMemory), true, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                lock (_lock)
                {
                    Finish(ex);
                }

                return;
            }

            batch.ResetWrittenCount();
            lock (_lock)
            {
                Flushes++;
                _spare = batch;
            }
        }
    }

    private void Finish(Exception? failure)
    {
        _failure ??= failure;
        _flushing = false;
        _drained?.TrySetResult();
        _drained = null;
    }
}

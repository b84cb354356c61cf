using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>The gate in front of MQTTnet's reads, over a scripted connection (packets queued as the broker would send them).</summary>
public sealed class BacklogChannelAdapterTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task ReceivePacketAsync_AtTheBound_DoesNotReadUntilAMessageIsReleased()
    {
        using var backlog = new ReceiveBacklog(2, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        using var adapter = new BacklogChannelAdapter(connection, backlog);
        for (var i = 0; i < 3; i++)
        {
            connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = $"t/{i}" });
        }

        await adapter.ReceivePacketAsync(CancellationToken.None).WaitAsync(Generous);
        await adapter.ReceivePacketAsync(CancellationToken.None).WaitAsync(Generous);
        adapter.Delivered();
        adapter.Delivered();
        var third = adapter.ReceivePacketAsync(CancellationToken.None);

        Assert.False(third.IsCompleted);
        Assert.Equal(1, connection.Incoming.Reader.Count); // still the broker's (in the socket), not ours
        backlog.Release();
        Assert.Equal("t/2", ((MqttPublishPacket)await third.WaitAsync(Generous)).Topic);
        Assert.Equal(2, backlog.Peak);
    }

    [Fact]
    public async Task ReceivePacketAsync_PingSentWhileHeld_AnsweredSoTheKeepAliveDoesNotDropTheConnection()
    {
        using var backlog = new ReceiveBacklog(1, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        using var adapter = new BacklogChannelAdapter(connection, backlog);
        connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/0" });
        await adapter.ReceivePacketAsync(CancellationToken.None).WaitAsync(Generous);
        adapter.Delivered();

        var held = adapter.ReceivePacketAsync(CancellationToken.None);
        Assert.False(held.IsCompleted);
        await adapter.SendPacketAsync(MqttPingReqPacket.Instance, CancellationToken.None);

        Assert.IsType<MqttPingRespPacket>(await held.WaitAsync(Generous));
        Assert.Equal(1, backlog.Depth);
        Assert.False(adapter.ReceivePacketAsync(CancellationToken.None).IsCompleted); // still held for messages
    }

    [Fact]
    public async Task Dispose_MessagesReadButNeverHandedOver_LeaveTheBacklog()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var adapter = new BacklogChannelAdapter(connection, backlog);
        for (var i = 0; i < 3; i++)
        {
            connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = $"t/{i}" });
            await adapter.ReceivePacketAsync(CancellationToken.None).WaitAsync(Generous);
        }

        adapter.Delivered(); // one reached the handler: its ack releases it later

        adapter.Dispose();
        adapter.Dispose();

        Assert.Equal(1, backlog.Depth);
    }

    [Fact]
    public async Task Delivered_MessageOfADroppedConnectionAfterAReconnect_NotCountedOnTheNewConnection()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connections = new ScriptedConnections();
        var factory = new BacklogAdapterFactory(backlog, connections);
        var first = factory.CreateClientAdapter(new MqttClientOptions(), null!, null!);
        connections.Last.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/1", PacketIdentifier = 1, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce });
        connections.Last.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/2", PacketIdentifier = 2, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce });
        await first.ReceivePacketAsync(CancellationToken.None).WaitAsync(Generous);
        await first.ReceivePacketAsync(CancellationToken.None).WaitAsync(Generous);
        Assert.True(factory.Delivered(1));

        // The connection drops with t/2 read and not yet handed over: it leaves the backlog (the broker resends it).
        first.Dispose();
        Assert.Equal(1, backlog.Depth); // t/1, waiting for its fsync and ack
        var second = factory.CreateClientAdapter(new MqttClientOptions(), null!, null!);
        connections.Last.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/7", PacketIdentifier = 7, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce });
        await second.ReceivePacketAsync(CancellationToken.None).WaitAsync(Generous);

        // t/2 of the dropped connection reaches the handler late: it was released already, and t/7 is
        // still only read; the new connection must not count t/2 as its own delivery.
        Assert.False(factory.Delivered(2));
        second.Dispose();

        Assert.Equal(1, backlog.Depth); // t/1 only: t/7 died with the second connection, t/2 with the first
    }

    [Fact]
    public async Task ReceivePacketAsync_AfterAReadThatWaitedForTheSocket_LingersThenTakesWhatArrivedMeanwhile()
    {
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(100, time);
        var connection = new ScriptedConnection();
        using var adapter = await AfterAReadThatWaitedAsync(connection, backlog, new ReceiveLinger(TimeSpan.FromMilliseconds(5), time));

        // The next read does not look at the socket before the linger is over; three more arrive meanwhile.
        var second = adapter.ReceivePacketAsync(CancellationToken.None);
        Assert.Equal(1, connection.Reads);
        for (var i = 1; i <= 3; i++)
        {
            connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = $"t/{i}" });
        }

        time.Advance(TimeSpan.FromMilliseconds(4));
        Assert.False(second.IsCompleted);
        Assert.Equal(1, connection.Reads);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("t/1", ((MqttPublishPacket)await second.WaitAsync(Generous)).Topic);

        // Those waiting in the socket are read at once, without lingering again.
        Assert.True(adapter.ReceivePacketAsync(CancellationToken.None).IsCompletedSuccessfully);
        Assert.True(adapter.ReceivePacketAsync(CancellationToken.None).IsCompletedSuccessfully);
        Assert.Equal(1, adapter.Lingers);
        Assert.Equal(4, backlog.Depth);
    }

    [Fact]
    public async Task ReceivePacketAsync_LingerZero_ReadsAtOnceAfterAWait()
    {
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(100, time);
        var connection = new ScriptedConnection();
        using var adapter = await AfterAReadThatWaitedAsync(connection, backlog, new ReceiveLinger(TimeSpan.Zero, time));
        connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/1" });

        Assert.True(adapter.ReceivePacketAsync(CancellationToken.None).IsCompletedSuccessfully);
        Assert.Equal(0, adapter.Lingers);
    }

    [Fact]
    public async Task ReceivePacketAsync_CancelledWhileLingering_Throws()
    {
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(100, time);
        var connection = new ScriptedConnection();
        using var adapter = await AfterAReadThatWaitedAsync(connection, backlog, new ReceiveLinger(TimeSpan.FromMilliseconds(5), time));
        using var closing = new CancellationTokenSource();

        var lingering = adapter.ReceivePacketAsync(closing.Token);
        await closing.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lingering.WaitAsync(Generous));
        Assert.Equal(1, connection.Reads);
    }

    /// <summary>An adapter whose first read found nothing in the socket, waited, and was woken by the message that arrived.</summary>
    private static async Task<BacklogChannelAdapter> AfterAReadThatWaitedAsync(ScriptedConnection connection, ReceiveBacklog backlog, ReceiveLinger linger)
    {
        var adapter = new BacklogChannelAdapter(connection, backlog, linger: linger);
        var first = adapter.ReceivePacketAsync(CancellationToken.None);
        Assert.False(first.IsCompleted);
        connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/0" });
        await first.WaitAsync(Generous);
        return adapter;
    }

    private sealed class ScriptedConnections : IMqttClientAdapterFactory
    {
        public ScriptedConnection Last { get; private set; } = null!;

        public IMqttChannelAdapter CreateClientAdapter(MqttClientOptions options, MqttPacketInspector packetInspector, IMqttNetLogger logger) =>
            Last = new ScriptedConnection();
    }

    private sealed class ScriptedConnection : IMqttChannelAdapter
    {
        public Channel<MqttPacket> Incoming { get; } = Channel.CreateUnbounded<MqttPacket>();

        public long BytesReceived => 0;

        public long BytesSent => 0;

        public X509Certificate2 ClientCertificate => null!;

        public EndPoint RemoteEndPoint => new IPEndPoint(IPAddress.Loopback, 1883);

        public EndPoint LocalEndPoint => new IPEndPoint(IPAddress.Loopback, 50000);

        public bool IsSecureConnection => false;

        public MqttPacketFormatterAdapter PacketFormatterAdapter => null!;

        public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DisconnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>Reads MQTTnet asked of the socket.</summary>
        public int Reads { get; private set; }

        public Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            Reads++;
            return Incoming.Reader.ReadAsync(cancellationToken).AsTask();
        }

        public void ResetStatistics()
        {
        }

        public void Dispose()
        {
        }
    }
}

using Microsoft.Extensions.Time.Testing;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>
/// The adapter on MQTTnet's receive path, over a scripted connection (packets queued as the broker would
/// send them): it hands each PUBLISH to the handler itself, gates reads on the receive backlog, and sends
/// the acknowledgements on the connection that read the message.
/// </summary>
public sealed class BacklogChannelAdapterTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task ReceivePacketAsync_PublishInTheSocket_ReachesTheHandlerWithinTheReadCallAndMqttNetNeverSeesIt()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        connection.Incoming.Writer.TryWrite(Publish("t/1", 1));
        connection.Incoming.Writer.TryWrite(MqttPingRespPacket.Instance);
        var thread = Environment.CurrentManagedThreadId;

        var read = adapter.ReceivePacketAsync(CancellationToken.None);

        // Synchronously, on this thread: no queue and no other task between the socket and the handler.
        Assert.Equal(["t/1"], handler.Topics);
        Assert.Equal([thread], handler.Threads);
        Assert.True(read.IsCompletedSuccessfully);
        Assert.IsType<MqttPingRespPacket>(await read); // the next packet that is MQTTnet's
        Assert.Equal(1, adapter.Delivered);
        Assert.Equal(1, backlog.Depth);
    }

    [Fact]
    public async Task ReceivePacketAsync_HandlerStillBusy_NextPacketNotReadUntilItCompletes_OrderKept()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new RecordingHandler { Hold = hold };
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        for (var i = 1; i <= 3; i++)
        {
            connection.Incoming.Writer.TryWrite(Publish($"t/{i}", (ushort)i));
        }

        var read = adapter.ReceivePacketAsync(CancellationToken.None);

        Assert.Equal(["t/1"], handler.Topics);
        Assert.Equal(2, connection.Incoming.Reader.Count); // one message at a time, as MQTTnet's handler task
        hold.SetResult();
        await handler.WaitForAsync(3).WaitAsync(Generous);
        Assert.Equal(["t/1", "t/2", "t/3"], handler.Topics);
        Assert.False(read.IsCompleted); // waiting for the socket
    }

    [Fact]
    public async Task AcknowledgeAsync_QoS1_SendsPubAckWithThePacketIdentifierOnlyOnceAcknowledged()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        await DeliverAsync(adapter, connection, handler, Publish("t/1", 41), Publish("t/2", 42));
        Assert.Empty(connection.Sent);

        await ((DirectAck)handler.Tokens[1]).AcknowledgeAsync(CancellationToken.None);

        var ack = Assert.IsType<MqttPubAckPacket>(Assert.Single(connection.Sent));
        Assert.Equal(42, ack.PacketIdentifier);
        Assert.Equal(MqttPubAckReasonCode.Success, ack.ReasonCode);
        Assert.Equal(1, backlog.Depth);
        await ((DirectAck)handler.Tokens[1]).AcknowledgeAsync(CancellationToken.None); // settled: not sent twice
        Assert.Single(connection.Sent);
        Assert.Equal(1, backlog.Depth);
    }

    [Fact]
    public async Task AcknowledgeAsync_QoS0_SendsNothingAndLeavesTheBacklog()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        await DeliverAsync(adapter, connection, handler, new MqttPublishPacket { Topic = "t/0", QualityOfServiceLevel = MqttQualityOfServiceLevel.AtMostOnce });

        await ((DirectAck)handler.Tokens[0]).AcknowledgeAsync(CancellationToken.None);

        Assert.Empty(connection.Sent);
        Assert.Equal(0, backlog.Depth);
    }

    [Fact]
    public async Task AcknowledgeAsync_ConnectionGone_SendsNothingFailsAndLeavesTheBacklog()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        await DeliverAsync(adapter, connection, handler, Publish("t/1", 1), Publish("t/2", 2));

        // The connection drops with both messages in the ingest stage; MQTTnet disposes its adapter.
        adapter.Dispose();
        var next = new BacklogChannelAdapter(new ScriptedConnection(), backlog, handler.HandleAsync);

        await Assert.ThrowsAsync<InvalidOperationException>(() => ((DirectAck)handler.Tokens[0]).AcknowledgeAsync(CancellationToken.None));
        ((DirectAck)handler.Tokens[1]).Abandon();

        Assert.Empty(connection.Sent); // never acknowledged, here or on the next connection: the broker redelivers
        Assert.Equal(0, backlog.Depth);
        next.Dispose();
    }

    [Fact]
    public async Task ReceivePacketAsync_AtTheBound_DoesNotReadUntilAMessageIsReleased()
    {
        using var backlog = new ReceiveBacklog(2, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        for (var i = 0; i < 3; i++)
        {
            connection.Incoming.Writer.TryWrite(Publish($"t/{i}", (ushort)(i + 1)));
        }

        var read = adapter.ReceivePacketAsync(CancellationToken.None);

        Assert.False(read.IsCompleted);
        Assert.Equal(["t/0", "t/1"], handler.Topics);
        Assert.Equal(1, connection.Incoming.Reader.Count); // still the broker's (in the socket), not ours
        await ((DirectAck)handler.Tokens[0]).AcknowledgeAsync(CancellationToken.None);
        await handler.WaitForAsync(3).WaitAsync(Generous);
        Assert.Equal("t/2", handler.Topics[2]);
        Assert.Equal(2, backlog.Peak);
    }

    [Fact]
    public async Task ReceivePacketAsync_PingSentWhileHeldAtTheBound_AnsweredSoTheKeepAliveDoesNotDropTheConnection()
    {
        using var backlog = new ReceiveBacklog(1, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        connection.Incoming.Writer.TryWrite(Publish("t/0", 1));

        var held = adapter.ReceivePacketAsync(CancellationToken.None);
        Assert.False(held.IsCompleted);
        await adapter.SendPacketAsync(MqttPingReqPacket.Instance, CancellationToken.None);

        Assert.IsType<MqttPingRespPacket>(await held.WaitAsync(Generous));
        Assert.Equal(1, backlog.Depth);
        Assert.False(adapter.ReceivePacketAsync(CancellationToken.None).IsCompleted); // still held for messages
    }

    [Fact]
    public async Task ReceivePacketAsync_PingSentWhileTheHandlerHoldsAMessage_Answered()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new RecordingHandler { Hold = hold };
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        connection.Incoming.Writer.TryWrite(Publish("t/0", 1));
        connection.Incoming.Writer.TryWrite(Publish("t/1", 2));

        // The ingest stage waits (spool full, alert engine behind): the reader waits with it, and MQTTnet pings.
        var held = adapter.ReceivePacketAsync(CancellationToken.None);
        await adapter.SendPacketAsync(MqttPingReqPacket.Instance, CancellationToken.None);

        Assert.IsType<MqttPingRespPacket>(await held.WaitAsync(Generous));
        Assert.Equal(["t/0"], handler.Topics);
        var next = adapter.ReceivePacketAsync(CancellationToken.None);
        Assert.False(next.IsCompleted);
        hold.SetResult();
        await handler.WaitForAsync(2).WaitAsync(Generous);
    }

    [Fact]
    public async Task ReceivePacketAsync_AfterAReadThatWaitedForTheSocket_LingersThenTakesWhatArrivedMeanwhile()
    {
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(100, time);
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync, new ReceiveLinger(TimeSpan.FromMilliseconds(5), time));
        _ = adapter.ReceivePacketAsync(CancellationToken.None);
        connection.Incoming.Writer.TryWrite(Publish("t/0", 1));
        await handler.WaitForAsync(1).WaitAsync(Generous);

        // The next read does not look at the socket before the linger is over; three more arrive meanwhile.
        await WaitUntilAsync(() => adapter.Lingers == 1);
        Assert.Equal(1, connection.Reads);
        for (var i = 1; i <= 3; i++)
        {
            connection.Incoming.Writer.TryWrite(Publish($"t/{i}", (ushort)(i + 1)));
        }

        time.Advance(TimeSpan.FromMilliseconds(4));
        Assert.Equal(1, connection.Reads);
        Assert.Single(handler.Topics);
        time.Advance(TimeSpan.FromMilliseconds(1));

        // Those waiting in the socket are read at once, without lingering again.
        await handler.WaitForAsync(4).WaitAsync(Generous);
        Assert.Equal(["t/0", "t/1", "t/2", "t/3"], handler.Topics);
        Assert.Equal(1, adapter.Lingers);
        Assert.Equal(4, backlog.Depth);
    }

    [Fact]
    public async Task ReceivePacketAsync_LingerZero_ReadsAtOnceAfterAWait()
    {
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(100, time);
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync, new ReceiveLinger(TimeSpan.Zero, time));
        _ = adapter.ReceivePacketAsync(CancellationToken.None);
        connection.Incoming.Writer.TryWrite(Publish("t/0", 1));
        connection.Incoming.Writer.TryWrite(Publish("t/1", 2));

        await handler.WaitForAsync(2).WaitAsync(Generous);
        Assert.Equal(0, adapter.Lingers);
    }

    [Fact]
    public async Task ReceivePacketAsync_CancelledWhileLingering_Throws()
    {
        var time = new FakeTimeProvider();
        using var backlog = new ReceiveBacklog(100, time);
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler();
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync, new ReceiveLinger(TimeSpan.FromMilliseconds(5), time));
        using var closing = new CancellationTokenSource();
        var lingering = adapter.ReceivePacketAsync(closing.Token);
        connection.Incoming.Writer.TryWrite(Publish("t/0", 1));
        await handler.WaitForAsync(1).WaitAsync(Generous);

        await closing.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => lingering.WaitAsync(Generous));
        Assert.Equal(1, connection.Reads);
    }

    [Fact]
    public async Task ReceivePacketAsync_HandlerFails_ReadingGoesOn()
    {
        using var backlog = new ReceiveBacklog(10, new FakeTimeProvider());
        var connection = new ScriptedConnection();
        var handler = new RecordingHandler { Fail = "t/1" };
        using var adapter = new BacklogChannelAdapter(connection, backlog, handler.HandleAsync);
        connection.Incoming.Writer.TryWrite(Publish("t/1", 1));
        connection.Incoming.Writer.TryWrite(Publish("t/2", 2));

        _ = adapter.ReceivePacketAsync(CancellationToken.None);

        await handler.WaitForAsync(2).WaitAsync(Generous);
        Assert.Equal(["t/1", "t/2"], handler.Topics);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Generous;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached");
            await Task.Yield();
        }
    }

    /// <summary>The broker sends <paramref name="packets"/>; MQTTnet's receive loop reads; the handler has them all.</summary>
    private static async Task DeliverAsync(BacklogChannelAdapter adapter, ScriptedConnection connection, RecordingHandler handler, params MqttPublishPacket[] packets)
    {
        foreach (var packet in packets)
        {
            connection.Incoming.Writer.TryWrite(packet);
        }

        _ = adapter.ReceivePacketAsync(CancellationToken.None);
        await handler.WaitForAsync(packets.Length).WaitAsync(Generous);
    }

    private static MqttPublishPacket Publish(string topic, ushort id) =>
        new() { Topic = topic, PacketIdentifier = id, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce };

    /// <summary>The source's handler: records what it got, where, and may hold or fail a message.</summary>
    private sealed class RecordingHandler
    {
        private readonly Lock _lock = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];

        public List<string> Topics { get; } = [];

        public List<object> Tokens { get; } = [];

        public List<int> Threads { get; } = [];

        /// <summary>The first message's handling waits for this (then it is cleared).</summary>
        public TaskCompletionSource? Hold { get; set; }

        public string? Fail { get; init; }

        public Task HandleAsync(SourceMessage message)
        {
            lock (_lock)
            {
                Topics.Add(message.Topic);
                Tokens.Add(message.AckToken);
                Threads.Add(Environment.CurrentManagedThreadId);
                foreach (var waiter in _waiters.Where(w => Topics.Count >= w.Count))
                {
                    waiter.Reached.TrySetResult();
                }
            }

            if (message.Topic == Fail)
            {
                throw new InvalidOperationException("handler failed");
            }

            var hold = Hold;
            Hold = null;
            return hold?.Task ?? Task.CompletedTask;
        }

        public Task WaitForAsync(int count)
        {
            lock (_lock)
            {
                var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                if (Topics.Count >= count)
                {
                    reached.SetResult();
                }

                _waiters.Add((count, reached));
                return reached.Task;
            }
        }
    }
}

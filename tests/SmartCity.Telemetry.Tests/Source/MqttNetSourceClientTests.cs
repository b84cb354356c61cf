using System.Buffers;
using System.Diagnostics;
using Microsoft.Extensions.Time.Testing;
using MQTTnet.Packets;
using MQTTnet.Protocol;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>MQTTnet 5's real client over a scripted broker connection, with the source's adapter on its receive path.</summary>
public sealed class MqttNetSourceClientTests : IDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly ReceiveBacklog _backlog = new(100, new FakeTimeProvider());
    private readonly ScriptedConnections _connections = new();

    [Fact]
    public async Task MessageReceived_PublishRead_HandledOnTheReceiveLoopNotByMqttNetsPublishTask_AckedOnItsConnection()
    {
        using var client = new MqttNetSourceClient(_backlog, _connections, linger: null);
        var received = new TaskCompletionSource<(SourceMessage Message, string Stack)>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived = m =>
        {
            received.TrySetResult((m, new StackTrace().ToString()));
            return Task.CompletedTask;
        };
        await client.ConnectAsync(Options(TimeSpan.FromSeconds(60)), CancellationToken.None);

        _connections.Last.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "city/l/1", PacketIdentifier = 7, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce, PayloadSegment = "{}"u8.ToArray() });
        var (message, stack) = await received.Task.WaitAsync(Generous);

        Assert.Equal("city/l/1", message.Topic);
        Assert.Equal("{}"u8.ToArray(), message.Payload.ToArray());
        Assert.Contains(nameof(BacklogChannelAdapter), stack, StringComparison.Ordinal);
        Assert.DoesNotContain("ProcessReceivedPublishPackets", stack, StringComparison.Ordinal);
        Assert.DoesNotContain(_connections.Last.Sent, p => p is MqttPubAckPacket); // nothing acknowledged on its own
        await client.AcknowledgeAsync(message.AckToken, CancellationToken.None);
        Assert.Equal(7, Assert.IsType<MqttPubAckPacket>(Assert.Single(_connections.Last.Sent, p => p is MqttPubAckPacket)).PacketIdentifier);
        Assert.Equal(0, _backlog.Depth);
    }

    [Fact]
    public async Task KeepAlive_HandlerHoldsAMessageForSeveralPeriods_PingsAnsweredConnectionKept()
    {
        using var client = new MqttNetSourceClient(_backlog, _connections, linger: null);
        var disconnected = new TaskCompletionSource<SourceDisconnect>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Disconnected = d =>
        {
            disconnected.TrySetResult(d);
            return Task.CompletedTask;
        };
        var stalled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var topics = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var second = new TaskCompletionSource<object>(TaskCreationOptions.RunContinuationsAsynchronously);
        client.MessageReceived = m =>
        {
            topics.Enqueue(m.Topic);
            if (topics.Count == 2)
            {
                second.TrySetResult(m.AckToken);
            }

            // The first message waits as the ingest stage does while the spool is full.
            return topics.Count == 1 ? stalled.Task : Task.CompletedTask;
        };
        // MQTTnet's shortest keep-alive the source allows: a ping a second, each dropped after half a second without answer.
        await client.ConnectAsync(Options(TimeSpan.FromSeconds(1)), CancellationToken.None);
        var connection = _connections.Last;
        connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/1", PacketIdentifier = 1, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce });
        connection.Incoming.Writer.TryWrite(new MqttPublishPacket { Topic = "t/2", PacketIdentifier = 2, QualityOfServiceLevel = MqttQualityOfServiceLevel.AtLeastOnce });

        // Three pings while the reader waits for the handler: each answered, or MQTTnet drops the connection and pings no more.
        var deadline = Stopwatch.StartNew();
        while (connection.PingsSent < 3)
        {
            Assert.False(disconnected.Task.IsCompleted, "disconnected while the handler held a message");
            Assert.True(deadline.Elapsed < Generous, "MQTTnet did not ping three times (an unanswered ping drops the connection, and it pings no more)");
            await Task.WhenAny(disconnected.Task, Task.Delay(50));
        }

        Assert.True(client.IsConnected);
        Assert.Equal(["t/1"], topics);
        stalled.SetResult();
        var ack = await second.Task.WaitAsync(Generous);
        await client.AcknowledgeAsync(ack, CancellationToken.None);
        Assert.Equal(2, Assert.IsType<MqttPubAckPacket>(Assert.Single(connection.Sent, p => p is MqttPubAckPacket)).PacketIdentifier);
        Assert.False(disconnected.Task.IsCompleted);
    }

    public void Dispose() => _backlog.Dispose();

    private static MqttSourceOptions Options(TimeSpan keepAlive) => new() { Host = "127.0.0.1", Port = 1883, ClientId = "worker-test", KeepAlive = keepAlive };
}

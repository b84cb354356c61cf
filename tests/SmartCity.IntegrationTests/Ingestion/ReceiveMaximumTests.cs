using System.Collections.Concurrent;
using MQTTnet;
using MQTTnet.Diagnostics.PacketInspection;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Ingestion;

/// <summary>
/// What bounds the worker's receive queue. MQTTnet 5 queues every PUBLISH it reads, without limit,
/// until the message handler takes it; the only bound would be the broker's Receive Maximum (at most
/// that many QoS 1 messages unacknowledged). The 100,000-device heap dumps found 46,000-86,000 packets
/// in that queue with Mqtt:ReceiveMaximum 10,000. This pins down why, on the real mosquitto 2.0.11:
/// it honours the window until the first acknowledgement, then every PUBACK lets up to a whole window
/// more through (mosquitto 2.0.13: "various fixes around inflight quota management", #2306).
/// If this test fails after a broker upgrade, the window holds and Mqtt:ReceiveMaximum bounds the queue.
/// </summary>
public sealed class ReceiveMaximumTests
{
    private const int Window = 20;

    private static MqttClientOptions Options(string clientId, ushort receiveMaximum) => new MqttClientOptionsBuilder()
        .WithTcpServer(TestServers.MqttHost, TestServers.MqttPort)
        .WithCredentials(TestServers.MqttUsername, TestServers.MqttPassword)
        .WithClientId(clientId)
        .WithProtocolVersion(MqttProtocolVersion.V500)
        .WithCleanStart(true)
        .WithReceiveMaximum(receiveMaximum)
        // An MQTT request timeout, not a wait for a result: a loaded machine answers a CONNECT late.
        .WithTimeout(TimeSpan.FromSeconds(60))
        .Build();

    [Fact]
    public async Task Mosquitto_EachAcknowledgement_ReleasesUpToAWholeReceiveMaximumMore()
    {
        var topic = TestServers.UniqueName("rm-") + "/x";
        var factory = new MqttClientFactory();
        using var subscriber = factory.CreateMqttClient();
        var arrived = new ConcurrentQueue<MqttApplicationMessageReceivedEventArgs>();
        var windowArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Counted where MQTTnet reads them off the socket, before its own queue: what the broker sent.
        var publishesRead = 0;
        subscriber.InspectPacketAsync += e =>
        {
            if (e.Direction == MqttPacketFlowDirection.Inbound && e.Buffer.Length > 0 && (e.Buffer[0] >> 4) == 3) // packet type 3: PUBLISH
            {
                Interlocked.Increment(ref publishesRead);
            }

            return Task.CompletedTask;
        };
        subscriber.ApplicationMessageReceivedAsync += e =>
        {
            e.AutoAcknowledge = false;
            arrived.Enqueue(e);
            if (arrived.Count >= Window)
            {
                windowArrived.TrySetResult();
            }

            return Task.CompletedTask;
        };
        await subscriber.ConnectAsync(Options(TestServers.UniqueName("rm-sub-"), Window));
        await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(topic, MqttQualityOfServiceLevel.AtLeastOnce).Build());

        using var publisher = factory.CreateMqttClient();
        await publisher.ConnectAsync(Options(TestServers.UniqueName("rm-pub-"), 100));
        for (var i = 0; i < 10 * Window; i++)
        {
            // Each awaits the broker's PUBACK: when the loop ends, the broker holds all of them for the subscriber.
            await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload($"{i}")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        }

        // A ping's answer comes after whatever the broker wrote to this connection before it.
        await subscriber.PingAsync();
        Assert.Equal(Window, Volatile.Read(ref publishesRead));
        // MQTTnet's handler runs on its own task after the read: wait for it to have taken the window.
        await windowArrived.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(Window, arrived.Count);

        var readAfterEachAck = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            Assert.True(arrived.TryDequeue(out var e));
            await e.AcknowledgeAsync(CancellationToken.None);
            await subscriber.PingAsync();
            readAfterEachAck.Add(Volatile.Read(ref publishesRead));
        }

        // A window-keeping broker would have sent one more per acknowledgement (21, 22, 23).
        Assert.Equal([2 * Window, 3 * Window, 4 * Window], readAfterEachAck);
    }
}

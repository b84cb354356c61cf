using System.Diagnostics;
using System.Text;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Source;

namespace SmartCity.IntegrationTests.Ingestion;

/// <summary>
/// The source's client on the real mosquitto 2.0.11 with each PUBLISH handed to the handler by the
/// adapter that read it (not by MQTTnet's publish queue and its second task), across a broker restart:
/// the persistent session survives, what was not acknowledged comes again, an acknowledgement of the
/// dead connection is never sent on the new one, and what was acknowledged does not come again.
/// </summary>
[Collection(ServerFaultsGroup.Name)]
public sealed class DirectDeliveryTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task SourceClient_BrokerRestartedWithAMessageUnacknowledged_SessionKeptMessageRedeliveredAckOnlyOnTheNewConnection()
    {
        var topic = TestServers.UniqueName("direct-") + "/l/1";
        using var backlog = new ReceiveBacklog(100, TimeProvider.System);
        using var client = new MqttNetSourceClient(backlog, coalesceWrites: true);
        var received = Channel.CreateUnbounded<(SourceMessage Message, string Payload, string Stack)>();
        client.MessageReceived = m =>
        {
            received.Writer.TryWrite((m, Encoding.UTF8.GetString(m.Payload), new StackTrace().ToString()));
            return Task.CompletedTask;
        };
        var options = new MqttSourceOptions
        {
            Host = TestServers.MqttHost,
            Port = TestServers.MqttPort,
            Username = TestServers.MqttUsername,
            Password = TestServers.MqttPassword,
            ClientId = TestServers.UniqueName("direct-worker-"),
            ConnectTimeout = TimeSpan.FromSeconds(60),
        };
        var lost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.Disconnected = _ =>
        {
            lost.TrySetResult();
            return Task.CompletedTask;
        };
        await client.ConnectAsync(options, CancellationToken.None);
        await client.SubscribeAsync([topic], CancellationToken.None);

        await PublishAsync(topic, "first");
        var first = await received.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("first", first.Payload);
        // Handled on the receive loop, within the adapter's read: MQTTnet's publish task never ran for it.
        Assert.Contains(nameof(BacklogChannelAdapter), first.Stack, StringComparison.Ordinal);
        Assert.DoesNotContain("ProcessReceivedPublishPackets", first.Stack, StringComparison.Ordinal);

        // Not acknowledged (not durable yet) when the broker goes away.
        await ServerFaults.StopMosquittoAsync();
        try
        {
            await lost.Task.WaitAsync(Timeout);
        }
        finally
        {
            await ServerFaults.StartMosquittoAsync();
        }

        Assert.True(await ConnectWithRetriesAsync(client, options), "the broker lost the worker's persistent session");
        var again = await received.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("first", again.Payload);
        // The dead connection's token sends nothing on the new connection; the new one's does.
        await Assert.ThrowsAsync<InvalidOperationException>(() => client.AcknowledgeAsync(first.Message.AckToken, CancellationToken.None));
        await client.AcknowledgeAsync(again.Message.AckToken, CancellationToken.None);
        Assert.Equal(0, backlog.Depth);

        // Acknowledged for real: after another reconnect the next message is the one published meanwhile.
        await client.DisconnectAsync(normal: true, CancellationToken.None);
        await PublishAsync(topic, "second");
        Assert.True(await ConnectWithRetriesAsync(client, options));
        var next = await received.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        Assert.Equal("second", next.Payload);
        await client.AcknowledgeAsync(next.Message.AckToken, CancellationToken.None);
        await client.DisconnectAsync(normal: true, CancellationToken.None);
    }

    private static async Task<bool> ConnectWithRetriesAsync(MqttNetSourceClient client, MqttSourceOptions options)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await client.ConnectAsync(options, CancellationToken.None);
            }
            catch (Exception) when (deadline.Elapsed < Timeout)
            {
                // The restarted broker may not listen yet, or MQTTnet may still be closing the old connection.
                await Task.Delay(200);
            }
        }
    }

    private static async Task PublishAsync(string topic, string payload)
    {
        using var publisher = new MqttClientFactory().CreateMqttClient();
        await publisher.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(TestServers.MqttHost, TestServers.MqttPort)
            .WithCredentials(TestServers.MqttUsername, TestServers.MqttPassword)
            .WithClientId(TestServers.UniqueName("direct-pub-"))
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(60))
            .Build());
        await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
        await publisher.DisconnectAsync();
    }
}

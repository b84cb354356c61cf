using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace SmartCity.Simulators.Publishing;

/// <summary>Connection settings of a simulated device gateway.</summary>
public sealed record BrokerEndpoint(string Host, int Port, string? Username = null, string? Password = null);

/// <summary>
/// One MQTT 5 connection that publishes with a bounded number of QoS 1 messages in flight
/// (the broker's Receive Maximum caps it anyway), which is how real gateways reach high rates.
/// </summary>
public sealed class MqttPublisher : IAsyncDisposable
{
    private readonly IMqttClient _client;

    private MqttPublisher(IMqttClient client) => _client = client;

    public static async Task<MqttPublisher> ConnectAsync(BrokerEndpoint broker, string clientId, CancellationToken cancellationToken)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(10));
        if (broker.Username is not null)
        {
            options.WithCredentials(broker.Username, broker.Password);
        }

        var result = await client.ConnectAsync(options.Build(), cancellationToken).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException($"broker {broker.Host}:{broker.Port} refused {clientId}: {result.ResultCode} {result.ReasonString}");
        }

        return new MqttPublisher(client);
    }

    public bool IsConnected => _client.IsConnected;

    /// <summary>Publishes and, for QoS 1, waits for the broker's PUBACK; throws if the broker refused it.</summary>
    public async Task PublishAsync(string topic, ReadOnlyMemory<byte> payload, MqttQualityOfServiceLevel qos, bool retain, CancellationToken cancellationToken)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload.ToArray())
            .WithQualityOfServiceLevel(qos)
            .WithRetainFlag(retain)
            .Build();
        var result = await _client.PublishAsync(message, cancellationToken).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"publish to '{topic}' refused: {result.ReasonCode} {result.ReasonString}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
        }

        _client.Dispose();
    }
}

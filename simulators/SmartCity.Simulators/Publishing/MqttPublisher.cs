using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace SmartCity.Simulators.Publishing;

/// <summary>A last will: what the broker publishes (retained, QoS 1) on <paramref name="Topic"/> when the connection drops.</summary>
public sealed record LastWill(string Topic, byte[] Payload);

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

    public static Task<MqttPublisher> ConnectAsync(BrokerEndpoint broker, string clientId, CancellationToken cancellationToken) =>
        ConnectAsync(broker, clientId, will: null, cancellationToken);

    /// <summary>Connects with a last will (retained, QoS 1) that the broker publishes if this connection drops.</summary>
    public static async Task<MqttPublisher> ConnectAsync(BrokerEndpoint broker, string clientId, LastWill? will, CancellationToken cancellationToken)
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

        if (will is not null)
        {
            options.WithWillTopic(will.Topic)
                .WithWillPayload(will.Payload)
                .WithWillRetain(true)
                .WithWillQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce);
        }

        MqttClientConnectResult result;
        try
        {
            result = await client.ConnectAsync(options.Build(), cancellationToken).ConfigureAwait(false);
        }
        catch (MQTTnet.Adapter.MqttConnectingFailedException ex)
        {
            client.Dispose();
            throw new InvalidOperationException(Refusal(broker, clientId, ex.Message), ex);
        }

        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException(Refusal(broker, clientId, $"{result.ResultCode} {result.ReasonString}"));
        }

        return new MqttPublisher(client);
    }

    private static string Refusal(BrokerEndpoint broker, string clientId, string reason)
    {
        var hint = reason.Contains(nameof(MqttClientConnectResultCode.NotAuthorized), StringComparison.Ordinal)
            || reason.Contains(nameof(MqttClientConnectResultCode.BadUserNameOrPassword), StringComparison.Ordinal)
            ? broker.Username is null
                ? " (the broker asks for credentials: give --username and --password, or SMARTCITY_SIM_MQTT_USERNAME / SMARTCITY_SIM_MQTT_PASSWORD)"
                : $" (check the password of user '{broker.Username}' and the broker's ACL)"
            : "";
        return $"broker {broker.Host}:{broker.Port} refused {clientId}: {reason}{hint}";
    }

    /// <summary>
    /// Drops the connection the way a failing device does: MQTT 5 "disconnect with will message",
    /// so the broker publishes the last will (a plain DISCONNECT would discard it).
    /// </summary>
    public async Task DisconnectWithWillAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.DisconnectWithWillMessage).Build(), cancellationToken).ConfigureAwait(false);
        }
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

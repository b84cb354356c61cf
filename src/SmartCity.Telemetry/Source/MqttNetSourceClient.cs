using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace SmartCity.Telemetry.Source;

/// <summary>The source's client seam over MQTTnet 5 (which has no managed client: reconnecting is the source's job).</summary>
public sealed class MqttNetSourceClient : IMqttSourceClient
{
    private readonly IMqttClient _client;

    /// <param name="backlog">Bounds the messages read and not yet acknowledged (the reader waits at the bound).</param>
    /// <param name="coalesceWrites">Joins the acknowledgements written in a burst into one socket write (<see cref="CoalescingChannel"/>).</param>
    /// <param name="linger">Mqtt:ReceiveLinger, applied before a read (see <see cref="ReceiveLinger"/>).</param>
    public MqttNetSourceClient(ReceiveBacklog backlog, bool coalesceWrites = false, ReceiveLinger? linger = null)
        : this(backlog, coalesceWrites ? new CoalescingAdapterFactory() : null, linger)
    {
    }

    /// <param name="connections">Makes MQTTnet's adapter of each connection (null: MQTTnet's own factory); tests script a broker here.</param>
    internal MqttNetSourceClient(ReceiveBacklog backlog, IMqttClientAdapterFactory? connections, ReceiveLinger? linger)
    {
        // Every PUBLISH reaches MessageReceived from the adapter that read it, on the receive loop
        // (BacklogChannelAdapter): MQTTnet's ApplicationMessageReceivedAsync never fires, so nothing
        // subscribes to it (with no handler MQTTnet would acknowledge on its own).
        var adapters = new BacklogAdapterFactory(backlog, OnMessageAsync, connections, linger);
        _client = new MqttClientFactory().CreateMqttClient(adapters);
        _client.DisconnectedAsync += e => Disconnected?.Invoke(new SourceDisconnect(e.ClientWasConnected, e.Reason.ToString(), e.Exception?.Message)) ?? Task.CompletedTask;
    }

    public bool IsConnected => _client.IsConnected;

    public Func<SourceMessage, Task>? MessageReceived { get; set; }

    public Func<SourceDisconnect, Task>? Disconnected { get; set; }

    public async Task<bool> ConnectAsync(MqttSourceOptions options, CancellationToken cancellationToken)
    {
        var builder = new MqttClientOptionsBuilder()
            .WithSmartCityBroker(options)
            .WithClientId(options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)options.SessionExpiry.TotalSeconds)
            .WithReceiveMaximum((ushort)options.ReceiveMaximum)
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(options.ConnectTimeout);
        var result = await _client.ConnectAsync(builder.Build(), cancellationToken).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            // MQTTnet 5 reports a refused CONNECT in the result, not as an exception.
            throw new InvalidOperationException($"broker refused the connection: {result.ResultCode} {result.ReasonString}");
        }

        return result.IsSessionPresent;
    }

    public async Task SubscribeAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            subscribe.WithTopicFilter(f => f.WithTopic(filter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce));
        }

        var subscribed = await _client.SubscribeAsync(subscribe.Build(), cancellationToken).ConfigureAwait(false);
        foreach (var item in subscribed.Items)
        {
            if ((int)item.ResultCode > (int)MqttClientSubscribeResultCode.GrantedQoS2)
            {
                throw new InvalidOperationException($"broker refused subscription '{item.TopicFilter.Topic}': {item.ResultCode}");
            }
        }
    }

    public Task UnsubscribeAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        var unsubscribe = new MqttClientUnsubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            unsubscribe.WithTopicFilter(filter);
        }

        return _client.UnsubscribeAsync(unsubscribe.Build(), cancellationToken);
    }

    public Task DisconnectAsync(bool normal, CancellationToken cancellationToken)
    {
        var options = new MqttClientDisconnectOptionsBuilder();
        if (normal)
        {
            options.WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection);
        }

        return _client.DisconnectAsync(options.Build(), cancellationToken);
    }

    /// <summary>Sends the acknowledgement on the connection that read the message (never on a later one).</summary>
    public Task AcknowledgeAsync(object ackToken, CancellationToken cancellationToken) => ((DirectAck)ackToken).AcknowledgeAsync(cancellationToken);

    /// <summary>A message that will never be acknowledged on this connection (its connection is gone): it leaves the backlog.</summary>
    public void Abandon(object ackToken) => ((DirectAck)ackToken).Abandon();

    private Task OnMessageAsync(SourceMessage message) => MessageReceived?.Invoke(message) ?? Task.CompletedTask;

    public void Dispose() => _client.Dispose();
}

using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace SmartCity.Telemetry.Source;

/// <summary>The source's client seam over MQTTnet 5 (which has no managed client: reconnecting is the source's job).</summary>
public sealed class MqttNetSourceClient : IMqttSourceClient
{
    private readonly IMqttClient _client;
    private readonly ReceiveBacklog? _backlog;
    private readonly BacklogAdapterFactory? _adapters;

    public MqttNetSourceClient()
        : this(null)
    {
    }

    /// <param name="backlog">Bounds the messages read and not yet acknowledged (the reader waits at the bound); null: MQTTnet's unbounded reading.</param>
    /// <param name="coalesceWrites">Joins the acknowledgements written in a burst into one socket write (<see cref="CoalescingChannel"/>).</param>
    /// <param name="linger">Mqtt:ReceiveLinger, applied by the backlog's gate (so only with a <paramref name="backlog"/>).</param>
    public MqttNetSourceClient(ReceiveBacklog? backlog, bool coalesceWrites = false, ReceiveLinger? linger = null)
    {
        _backlog = backlog;
        IMqttClientAdapterFactory? connections = coalesceWrites ? new CoalescingAdapterFactory() : null;
        _adapters = backlog is null ? null : new BacklogAdapterFactory(backlog, connections, linger);
        IMqttClientAdapterFactory? factory = _adapters ?? connections;
        _client = factory is null ? new MqttClientFactory().CreateMqttClient() : new MqttClientFactory().CreateMqttClient(factory);
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
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

    public Task AcknowledgeAsync(object ackToken, CancellationToken cancellationToken)
    {
        if (ackToken is ReleasedAlready released)
        {
            return released.Message.AcknowledgeAsync(cancellationToken);
        }

        var ack = ((MqttApplicationMessageReceivedEventArgs)ackToken).AcknowledgeAsync(cancellationToken);
        if (_backlog is null)
        {
            return ack;
        }

        if (ack.IsCompleted)
        {
            // Sent (or failed: the broker redelivers): either way the message leaves the worker's memory.
            _backlog.Release();
            return ack;
        }

        return ReleaseWhenSentAsync(ack, _backlog);
    }

    /// <summary>A message that will never be acknowledged on this connection (its connection is gone): it leaves the backlog.</summary>
    public void Abandon(object ackToken)
    {
        if (ackToken is not ReleasedAlready)
        {
            _backlog?.Release();
        }
    }

    private static async Task ReleaseWhenSentAsync(Task ack, ReceiveBacklog backlog)
    {
        try
        {
            await ack.ConfigureAwait(false);
        }
        finally
        {
            backlog.Release();
        }
    }

    private Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        // Always manual: the handler acknowledges once the message is durable, or never (it comes again).
        e.AutoAcknowledge = false;
        object ackToken = _adapters is null || _adapters.Delivered(e.PacketIdentifier) ? e : new ReleasedAlready(e);
        return MessageReceived?.Invoke(new SourceMessage(e.ApplicationMessage.Topic, e.ApplicationMessage.Payload, ackToken)) ?? Task.CompletedTask;
    }

    /// <summary>A message whose connection was gone (and released it from the backlog) before it reached the handler.</summary>
    private sealed record ReleasedAlready(MqttApplicationMessageReceivedEventArgs Message);

    public void Dispose() => _client.Dispose();
}

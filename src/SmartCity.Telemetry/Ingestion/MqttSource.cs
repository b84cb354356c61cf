using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Polly;
using Polly.Retry;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Pipeline;

namespace SmartCity.Telemetry.Ingestion;

/// <summary>
/// The MQTT source: one MQTT 5 client with a persistent session, QoS 1 subscriptions and manual
/// acknowledgement. Each message is decoded on arrival (the payload buffer belongs to MQTTnet only
/// for the duration of the handler) and handed to the durable spool with its acknowledgement,
/// which the spool sends once the record is on disk. MQTTnet 5 has no managed client: this class
/// reconnects with backoff, resubscribes when the broker lost the session, and runs a watchdog
/// that reconnects when a subscription goes quiet although traffic was flowing.
/// </summary>
public sealed partial class MqttSource : BackgroundService
{
    private readonly MqttSourceOptions _options;
    private readonly MessageDecoder _decoder;
    private readonly Devices.Registry.DeviceRegistry _registry;
    private readonly Alerting.Hosting.AlertingService _alerting;
    private readonly DurableSpool _spool;
    private readonly PipelineMetrics _metrics;
    private readonly DeadLetters _deadLetters;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttSource> _logger;
    private readonly IMqttClient _client;
    private readonly ResiliencePipeline _connectPipeline;
    private readonly CancellationTokenSource _intake = new();
    private readonly RejectionLogLimiter _rejectionLog;
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Packet identifiers belong to one connection's view of the session: an acknowledgement held
    // across a reconnect could name another message if the broker lost the session. Acks carry the
    // generation they were received in and are dropped if it changed (the broker redelivers).
    private int _connectionGeneration;
    private readonly SubscriptionWatchdog _watchdog;
    private volatile bool _forceResubscribe;

    public MqttSource(
        IOptions<MqttSourceOptions> options,
        MessageDecoder decoder,
        Devices.Registry.DeviceRegistry registry,
        Alerting.Hosting.AlertingService alerting,
        DurableSpool spool,
        PipelineMetrics metrics,
        DeadLetters deadLetters,
        TimeProvider time,
        ILogger<MqttSource> logger)
    {
        _options = options.Value;
        _decoder = decoder;
        _registry = registry;
        _alerting = alerting;
        _spool = spool;
        _metrics = metrics;
        _deadLetters = deadLetters;
        _time = time;
        _logger = logger;
        _rejectionLog = new RejectionLogLimiter(time, TimeSpan.FromMinutes(1));
        _watchdog = new SubscriptionWatchdog(time, _options.QuietTimeout);
        _client = new MqttClientFactory().CreateMqttClient();
        _client.ApplicationMessageReceivedAsync += OnMessageAsync;
        _client.DisconnectedAsync += OnDisconnectedAsync;
        _connectPipeline = new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.ReconnectBaseDelay,
                MaxDelay = _options.ReconnectMaxDelay,
                OnRetry = args =>
                {
                    LogConnectFailed(_options.Host!, _options.Port, args.Outcome.Exception?.Message ?? "", args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public bool IsConnected => _client.IsConnected;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watchdog = _options.QuietTimeout > TimeSpan.Zero ? WatchdogLoopAsync(stoppingToken) : Task.CompletedTask;
        try
        {
            await ConnectionLoopAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            await watchdog.ConfigureAwait(false);
        }
    }

    private async Task WatchdogLoopAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_watchdog.CheckInterval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (_client.IsConnected && _watchdog.IsQuiet(out var quietFor))
                {
                    _metrics.WatchdogResubscribed();
                    LogWatchdog(quietFor);
                    _forceResubscribe = true;
                    // Reconnecting goes through the normal path: new connection, fresh subscriptions.
                    await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ConnectionLoopAsync(CancellationToken stoppingToken)
    {
        var firstConnection = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await _connectPipeline.ExecuteAsync(ConnectAndSubscribeAsync, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }

            if (!firstConnection)
            {
                _metrics.Reconnected();
            }

            firstConnection = false;
            try
            {
                await _disconnected.Task.WaitAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async ValueTask ConnectAndSubscribeAsync(CancellationToken cancellationToken)
    {
        // A new signal before connecting: a disconnect during the handshake must not be missed.
        _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = new MqttClientOptionsBuilder()
            .WithSmartCityBroker(_options)
            .WithClientId(_options.ClientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds)
            .WithReceiveMaximum((ushort)_options.ReceiveMaximum)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(_options.ConnectTimeout);
        var result = await _client.ConnectAsync(builder.Build(), cancellationToken).ConfigureAwait(false);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            // MQTTnet 5 reports a refused CONNECT in the result, not as an exception.
            throw new InvalidOperationException($"broker refused the connection: {result.ResultCode} {result.ReasonString}");
        }

        if (!result.IsSessionPresent || _forceResubscribe)
        {
            _forceResubscribe = false;
            var subscribe = new MqttClientSubscribeOptionsBuilder();
            foreach (var filter in _options.Subscriptions)
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

        _metrics.SourceConnected(true);
        LogConnected(_options.Host!, _options.Port, _options.ClientId, result.IsSessionPresent);
    }

    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs e)
    {
        Interlocked.Increment(ref _connectionGeneration);
        _metrics.SourceConnected(false);
        if (e.ClientWasConnected && !_intake.IsCancellationRequested)
        {
            LogDisconnected(e.Reason.ToString(), e.Exception?.Message ?? "");
        }

        _disconnected.TrySetResult();
        return Task.CompletedTask;
    }

    private async Task OnMessageAsync(MqttApplicationMessageReceivedEventArgs e)
    {
        if (_intake.IsCancellationRequested)
        {
            // Stopping: leave it unacknowledged; the broker keeps it in the session for the next start.
            e.AutoAcknowledge = false;
            return;
        }

        e.AutoAcknowledge = false;
        _watchdog.MessageReceived();
        _metrics.Received();
        var message = e.ApplicationMessage;
        var receivedAt = _time.GetUtcNow();
        // Decoding runs in order on this one handler, so a birth registers its device before the telemetry that follows it.
        var outcome = _registry.Admit(_decoder.Decode(message.Topic, message.Payload, receivedAt), receivedAt);
        var ack = AckFor(e);
        BufferedMessage buffered;
        switch (outcome.Status)
        {
            case DecodeStatus.Accepted:
                _metrics.Accepted();
                try
                {
                    // Waits while the alert engine is behind (its queue is short): flow control, not loss.
                    await ObserveAsync(outcome, receivedAt, _intake.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Intake closed while waiting; the message stays unacknowledged and comes again.
                    return;
                }

                buffered = new(LineProtocol.Format(outcome.Result.Point!), false, ack);
                break;
            case DecodeStatus.Ignored:
                _metrics.Ignored();
                buffered = new(null, false, ack);
                break;
            default:
                _metrics.Rejected(outcome.Result.Reason);
                var deadLetter = _deadLetters.Create(message.Topic, message.Payload, outcome.Result, outcome.Topic, receivedAt);
                if (_rejectionLog.ShouldLog(outcome.Result.Reason, out var suppressed))
                {
                    LogRejected(outcome.Result.Reason.ToString(), JsonPayload.Truncate(message.Topic, 200), outcome.Result.Detail, suppressed);
                }

                buffered = new(LineProtocol.Format(deadLetter), true, ack);
                break;
        }

        try
        {
            await _spool.AppendAsync(buffered, _intake.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Intake closed while the spool was full; the message stays unacknowledged.
        }
    }

    /// <summary>
    /// Test hook: unsubscribes without telling anyone, the failure the watchdog exists for (a broker
    /// that lost a subscription while keeping the connection).
    /// </summary>
    internal async Task DropSubscriptionsSilentlyAsync()
    {
        var unsubscribe = new MqttClientUnsubscribeOptionsBuilder();
        foreach (var filter in _options.Subscriptions)
        {
            unsubscribe.WithTopicFilter(filter);
        }

        await _client.UnsubscribeAsync(unsubscribe.Build()).ConfigureAwait(false);
    }

    /// <summary>Alert rules see what is stored, in the order it arrived; last wills raise offline alerts at once.</summary>
    private ValueTask ObserveAsync(DecodeOutcome outcome, DateTimeOffset receivedAt, CancellationToken cancellationToken)
    {
        var topic = outcome.Topic!.Value;
        var point = outcome.Result.Point!;
        if (topic.Kind == MessageKind.Status)
        {
            if (Devices.Registry.StatusDecoder.IsRemoval(point))
            {
                _metrics.DeviceRemoved();
                return _alerting.DeviceRemovedAsync(topic.DeviceId, cancellationToken);
            }

            if (point.GetField("online") is { Boolean: false })
            {
                return _alerting.DeviceWentOfflineAsync(topic.DeviceId, receivedAt, cancellationToken);
            }

            return point.GetField("online") is { Boolean: true }
                ? _alerting.DeviceCameOnlineAsync(topic, point.Timestamp, point.GetField("parent") is { Type: FieldType.String } parent ? parent.Text : null, cancellationToken)
                : ValueTask.CompletedTask;
        }

        return _alerting.ObserveAsync(point, topic.DeviceType, cancellationToken);
    }

    private Func<CancellationToken, Task> AckFor(MqttApplicationMessageReceivedEventArgs e)
    {
        var generation = Volatile.Read(ref _connectionGeneration);
        return ct => generation == Volatile.Read(ref _connectionGeneration)
            ? e.AcknowledgeAsync(ct)
            : throw new InvalidOperationException("the connection that delivered the message is gone");
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Order matters: stop taking messages, let the spool write and acknowledge what it holds,
        // give storage a bounded time to empty the spool, and only then disconnect. Whatever is not
        // stored by then is safe on disk (or unacknowledged in the broker's session).
        await _intake.CancelAsync().ConfigureAwait(false);
        _spool.CompleteIntake();
        try
        {
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(_options.DrainTimeout);
            await _spool.IntakeFlushed.WaitAsync(drain.Token).ConfigureAwait(false);
            await _spool.WaitUntilEmptyAsync(drain.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            LogDrainTimedOut(_spool.Depth);
        }

        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithReason(MqttClientDisconnectOptionsReason.NormalDisconnection).Build(), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogDisconnectFailed(ex.Message);
            }
        }

        _metrics.SourceConnected(false);
    }

    public override void Dispose()
    {
        _client.Dispose();
        _intake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Connected to MQTT broker {Host}:{Port} as {ClientId} (session present: {SessionPresent})")]
    private partial void LogConnected(string host, int port, string clientId, bool sessionPresent);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Cannot connect to MQTT broker {Host}:{Port}: {Error}; retrying in {Delay}")]
    private partial void LogConnectFailed(string host, int port, string error, TimeSpan delay);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Disconnected from MQTT broker ({Reason}) {Error}; reconnecting")]
    private partial void LogDisconnected(string reason, string error);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Rejected message ({Reason}) on '{Topic}': {Detail} [{Suppressed} similar rejections not logged since the last one]")]
    private partial void LogRejected(string reason, string topic, string detail, long suppressed);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "Stopping with {Depth} records not yet stored; they stay in the spool for the next start")]
    private partial void LogDrainTimedOut(long depth);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "No message for {QuietFor} although traffic was flowing: the subscription may be lost; reconnecting and resubscribing")]
    private partial void LogWatchdog(TimeSpan quietFor);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Clean disconnect failed: {Error}")]
    private partial void LogDisconnectFailed(string error);
}

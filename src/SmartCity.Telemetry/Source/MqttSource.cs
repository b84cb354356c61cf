using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// The MQTT source: one MQTT 5 client with a persistent session, QoS 1 subscriptions and manual
/// acknowledgement. Each message goes, in arrival order, to the <see cref="IMessageHandler"/> (the
/// ingest stage) with its acknowledgement, which is sent once the message is durable. MQTTnet 5 has
/// no managed client: this class reconnects with backoff, resubscribes when the broker lost the
/// session, and runs a watchdog that reconnects when a subscription goes quiet although traffic was
/// flowing. It talks to the broker only through <see cref="IMqttSourceClient"/>.
/// </summary>
public sealed partial class MqttSource : BackgroundService, IStage
{
    private readonly MqttSourceOptions _options;
    private readonly IMessageHandler _handler;
    private readonly PipelineMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<MqttSource> _logger;
    private readonly IMqttSourceClient _client;
    private readonly ReceiveBacklog _backlog;
    private readonly ResiliencePipeline _connectPipeline;
    private readonly CancellationTokenSource _intake = new();
    private TaskCompletionSource _disconnected = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Packet identifiers belong to one connection's view of the session: an acknowledgement held
    // across a reconnect could name another message if the broker lost the session. Acks carry the
    // generation they were received in and are dropped if it changed (the broker redelivers).
    private int _connectionGeneration;
    private readonly SubscriptionWatchdog _watchdog;
    private volatile bool _forceResubscribe;

    public MqttSource(
        IOptions<MqttSourceOptions> options,
        IMessageHandler handler,
        PipelineMetrics metrics,
        TimeProvider time,
        ILogger<MqttSource> logger,
        IMqttSourceClient? client = null,
        HeldIntake? intake = null)
    {
        _options = options.Value;
        _handler = handler;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _backlog = new ReceiveBacklog(_options.MaxReceiveBacklog, time);
        _watchdog = new SubscriptionWatchdog(time, _options.QuietTimeout, () => _backlog.Depth);
        intake?.Add(() => _backlog.Depth); // the alert engine's device clock does not count our own stall as the devices' silence
        _client = client ?? new MqttNetSourceClient(_backlog, _options.CoalesceAcks, new ReceiveLinger(_options.ReceiveLinger, time));
        _client.MessageReceived = OnMessageAsync;
        _client.Disconnected = OnDisconnectedAsync;
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
                    _metrics.SourceStage.Error("connect");
                    LogConnectFailed(_options.Host!, _options.Port, args.Outcome.Exception?.Message ?? "", args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    public bool IsConnected => _client.IsConnected;

    /// <summary>The bound on messages held in memory between the socket and the spool's acknowledgement (Mqtt:MaxReceiveBacklog).</summary>
    public ReceiveBacklog Backlog => _backlog;

    /// <summary>Received: messages from the broker; sent: handed to the ingest stage; errors: connect failures and lost connections.</summary>
    public StageCounters Counters => _metrics.SourceStage;

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
                    await _client.DisconnectAsync(normal: false, stoppingToken).ConfigureAwait(false);
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
        var sessionPresent = await _client.ConnectAsync(_options, cancellationToken).ConfigureAwait(false);
        if (!sessionPresent || _forceResubscribe)
        {
            _forceResubscribe = false;
            await _client.SubscribeAsync(_options.Subscriptions, cancellationToken).ConfigureAwait(false);
        }

        _metrics.SourceConnected(true);
        LogConnected(_options.Host!, _options.Port, _options.ClientId, sessionPresent);
    }

    private Task OnDisconnectedAsync(SourceDisconnect e)
    {
        Interlocked.Increment(ref _connectionGeneration);
        _metrics.SourceConnected(false);
        if (e.ClientWasConnected && !_intake.IsCancellationRequested)
        {
            _metrics.SourceStage.Error("connection_lost");
            LogDisconnected(e.Reason, e.Error ?? "");
        }

        _disconnected.TrySetResult();
        return Task.CompletedTask;
    }

    private Task OnMessageAsync(SourceMessage message)
    {
        _metrics.SourceStage.Received();
        if (_intake.IsCancellationRequested)
        {
            // Stopping: leave it unacknowledged; the broker keeps it in the session for the next start.
            _metrics.SourceStage.Discarded("intake_closed");
            return Task.CompletedTask;
        }

        _watchdog.MessageReceived();
        _metrics.Received();
        _metrics.SourceStage.Sent();
        return _handler.HandleAsync(message.Topic, message.Payload, AckFor(message.AckToken), _intake.Token);
    }

    /// <summary>
    /// Test hook: unsubscribes without telling anyone, the failure the watchdog exists for (a broker
    /// that lost a subscription while keeping the connection).
    /// </summary>
    internal Task DropSubscriptionsSilentlyAsync() => _client.UnsubscribeAsync(_options.Subscriptions, CancellationToken.None);

    private Func<CancellationToken, Task> AckFor(object ackToken)
    {
        var generation = Volatile.Read(ref _connectionGeneration);
        return ct =>
        {
            if (generation == Volatile.Read(ref _connectionGeneration))
            {
                return _client.AcknowledgeAsync(ackToken, ct);
            }

            _client.Abandon(ackToken);
            throw new InvalidOperationException("the connection that delivered the message is gone");
        };
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // Order matters: stop taking messages, let the spool write and acknowledge what it holds,
        // give storage a bounded time to empty the spool, and only then disconnect. Whatever is not
        // stored by then is safe on disk (or unacknowledged in the broker's session).
        await _intake.CancelAsync().ConfigureAwait(false);
        await _handler.DrainAsync(_options.DrainTimeout, cancellationToken).ConfigureAwait(false);
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(normal: true, CancellationToken.None).ConfigureAwait(false);
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
        _backlog.Dispose();
        _intake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Connected to MQTT broker {Host}:{Port} as {ClientId} (session present: {SessionPresent})")]
    private partial void LogConnected(string host, int port, string clientId, bool sessionPresent);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Warning, Message = "Cannot connect to MQTT broker {Host}:{Port}: {Error}; retrying in {Delay}")]
    private partial void LogConnectFailed(string host, int port, string error, TimeSpan delay);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Disconnected from MQTT broker ({Reason}) {Error}; reconnecting")]
    private partial void LogDisconnected(string reason, string error);

    [LoggerMessage(EventId = 1007, Level = LogLevel.Warning, Message = "No message for {QuietFor} although traffic was flowing: the subscription may be lost; reconnecting and resubscribing")]
    private partial void LogWatchdog(TimeSpan quietFor);

    [LoggerMessage(EventId = 1006, Level = LogLevel.Debug, Message = "Clean disconnect failed: {Error}")]
    private partial void LogDisconnectFailed(string error);
}

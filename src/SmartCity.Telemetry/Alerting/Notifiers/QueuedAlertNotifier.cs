using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Alerting.Notifiers;

/// <summary>The queue in front of each notifier.</summary>
public sealed class NotifierQueueOptions
{
    public const string SectionName = "Alerting:Notifiers";

    /// <summary>Transitions one notifier may have waiting; beyond that new ones are dropped for it (counted, logged).</summary>
    /// <value>The default value is 10 000.</value>
    [Range(1, 1_000_000)]
    public int Capacity { get; set; } = 10_000;

    /// <summary>At shutdown, how long each notifier may go on delivering what is queued.</summary>
    /// <value>The default value is 10 seconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// Puts a bounded queue and a loop of its own in front of one notifier, so a notifier that is
/// slow or failing (a dead webhook retrying for a minute, an SMTP server that does not answer)
/// delays neither the other notifiers nor the alerting queue, and so not ingestion. Order is kept
/// per notifier. When the queue is full the new transition is dropped for this notifier only,
/// counted in <see cref="Dropped"/> and logged (never waited for). A failure is logged and
/// counted; the next transition is tried anyway. The counters are also exported under the meter
/// <c>SmartCity.Alerting</c> (<c>smartcity.notifier.delivered|failed|dropped</c>, tag <c>notifier</c>).
/// </summary>
public sealed partial class QueuedAlertNotifier : IAlertNotifier, IAsyncDisposable
{
    private readonly IAlertNotifier _inner;
    private readonly NotifierQueueOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<AlertTransition> _queue;
    private readonly CancellationTokenSource _abort = new();
    private readonly Task _loop;
    private readonly KeyValuePair<string, object?> _tag;
    private long _delivered;
    private long _failed;
    private long _dropped;
    private readonly Lock _stopGate = new();
    private Task? _stopping;

    public QueuedAlertNotifier(IAlertNotifier inner, NotifierQueueOptions options, ILogger<QueuedAlertNotifier> logger)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(options);
        _inner = inner;
        _options = options;
        _logger = logger;
        _tag = new("notifier", Name);
        _queue = Channel.CreateBounded<AlertTransition>(new BoundedChannelOptions(options.Capacity)
        {
            // Not SingleReader: a drain that timed out empties the queue while an abandoned loop may still read.
            SingleReader = false,
            FullMode = BoundedChannelFullMode.Wait,   // with TryWrite: refuses instead of evicting, so the drop is ours to count
        });
        // The loop is owned here and awaited in StopAsync: a notifier works from the moment it exists.
        _loop = Task.Run(LoopAsync);
    }

    public string Name => _inner.GetType().Name;

    public IAlertNotifier Inner => _inner;

    /// <summary>Transitions the notifier took without throwing.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Transitions the notifier failed on (after its own retries).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Transitions never handed to the notifier: queue full, or still queued when the drain time ran out.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Waiting in the queue now.</summary>
    public int Pending => _queue.Reader.Count;

    /// <summary>Queues the transition and returns at once.</summary>
    public ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        if (!_queue.Writer.TryWrite(transition))
        {
            var dropped = Interlocked.Increment(ref _dropped);
            NotifierMeter.Dropped.Add(1, _tag);
            // The first drop and then one in a thousand: a stuck notifier must not flood the log.
            if (dropped % 1_000 == 1)
            {
                LogDropped(Name, transition.Alert.Id, dropped, _options.Capacity);
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>Stops taking transitions and lets the notifier deliver what is queued, for at most <see cref="NotifierQueueOptions.DrainTimeout"/>.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_stopGate)
        {
            return _stopping ??= DrainAsync(cancellationToken);
        }
    }

    private async Task DrainAsync(CancellationToken cancellationToken)
    {
        _queue.Writer.TryComplete();
        try
        {
            await _loop.WaitAsync(_options.DrainTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
        {
            await _abort.CancelAsync().ConfigureAwait(false);
            // A notifier that ignores cancellation cannot hold shutdown: the loop is left behind.
            await _loop.WaitAsync(TimeSpan.FromSeconds(1), CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            var left = 0;
            while (_queue.Reader.TryRead(out _))
            {
                left++;
            }

            Interlocked.Add(ref _dropped, left);
            NotifierMeter.Dropped.Add(left, _tag);
            LogDrainTimedOut(Name, left, _options.DrainTimeout.TotalSeconds);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None).ConfigureAwait(false);
        _abort.Dispose();
    }

    private async Task LoopAsync()
    {
        var token = _abort.Token;
        try
        {
            await foreach (var transition in _queue.Reader.ReadAllAsync(token).ConfigureAwait(false))
            {
                if (token.IsCancellationRequested)
                {
                    return;   // aborted: what is left is counted by the drain, not sent late
                }

                try
                {
                    await _inner.OnTransitionAsync(transition, token).ConfigureAwait(false);
                    Interlocked.Increment(ref _delivered);
                    NotifierMeter.Delivered.Add(1, _tag);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _dropped);
                    NotifierMeter.Dropped.Add(1, _tag);
                    return;
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _failed);
                    NotifierMeter.Failed.Add(1, _tag);
                    LogFailed(Name, transition.Kind.ToString().ToLowerInvariant(), transition.Alert.Id, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 6101, Level = LogLevel.Error, Message = "Notifier {Notifier} failed for the {Transition} of alert {AlertId}: {Error}; the other notifiers and ingestion go on")]
    private partial void LogFailed(string notifier, string transition, string alertId, string error);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Error, Message = "Notifier {Notifier} queue full ({Capacity} waiting) or stopped: the transition of alert {AlertId} is not sent by it ({Dropped} dropped so far)")]
    private partial void LogDropped(string notifier, string alertId, long dropped, int capacity);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Warning, Message = "Notifier {Notifier} did not finish within {Seconds:0.#} s of shutdown: {Left} queued transitions not sent")]
    private partial void LogDrainTimedOut(string notifier, int left, double seconds);
}

/// <summary>Notifier counters, one instrument per outcome, tagged with the notifier's name.</summary>
public static class NotifierMeter
{
    public const string Name = "SmartCity.Alerting";

    private static readonly Meter Meter = new(Name);

    public static readonly Counter<long> Delivered = Meter.CreateCounter<long>("smartcity.notifier.delivered", "{transition}", "Alert transitions a notifier took");
    public static readonly Counter<long> Failed = Meter.CreateCounter<long>("smartcity.notifier.failed", "{transition}", "Alert transitions a notifier failed on after its retries");
    public static readonly Counter<long> Dropped = Meter.CreateCounter<long>("smartcity.notifier.dropped", "{transition}", "Alert transitions never handed to a notifier (queue full, or left at shutdown)");
}

/// <summary>Drains every notifier queue at shutdown (registered before the alerting service, so it stops after it).</summary>
public sealed class NotifierQueues(IEnumerable<IAlertNotifier> sinks) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(sinks.OfType<QueuedAlertNotifier>().Select(q => q.StopAsync(cancellationToken)));

    internal static QueuedAlertNotifier Wrap(IServiceProvider services, IAlertNotifier inner) => new(
        inner,
        services.GetRequiredService<IOptions<NotifierQueueOptions>>().Value,
        services.GetRequiredService<ILogger<QueuedAlertNotifier>>());
}

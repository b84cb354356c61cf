using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Notifiers;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The queue in front of each notifier: a notifier that hangs delays neither the dispatch nor the
/// other notifiers, order is kept per notifier, a full queue drops (counted, logged) instead of
/// blocking, and shutdown drains for a bounded time. Signals only, no sleeps.
/// </summary>
public sealed class QueuedAlertSinkTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Dispatch_SinkHangs_OtherSinkStillGetsEveryTransitionAndDispatchReturnsAtOnce()
    {
        var hanging = new GatedSink();
        var recorder = new GatedSink(open: true);
        var logs = new TestLogs();
        await using var hangingQueue = Queue(hanging, logs);
        await using var recorderQueue = Queue(recorder, logs);
        var notifiers = new AlertNotifiers([hangingQueue, recorderQueue]);

        var dispatch = notifiers.DispatchAsync([T(1), T(2), T(3)], CancellationToken.None).AsTask();

        // Without queues the first sink would hold the dispatch (and the alerting queue) until it returned.
        Assert.True(dispatch.IsCompletedSuccessfully);
        Assert.Empty(await dispatch);
        await recorder.WaitForAsync(3, Timeout);
        await hanging.Started.WaitAsync(Timeout);
        Assert.Equal(["a-1", "a-2", "a-3"], recorder.Ids);
        Assert.Empty(hanging.Ids);

        hanging.Open();
        await hanging.WaitForAsync(3, Timeout);
        Assert.Equal(["a-1", "a-2", "a-3"], hanging.Ids);
    }

    [Fact]
    public async Task OnTransition_ManyTransitionsWhileSinkIsHeld_DeliveredInOrder()
    {
        var sink = new GatedSink();
        await using var queue = Queue(sink, new TestLogs());
        for (var i = 0; i < 500; i++)
        {
            await queue.OnTransitionAsync(T(i), CancellationToken.None);
        }

        sink.Open();
        await sink.WaitForAsync(500, Timeout);

        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"a-{i}"), sink.Ids);
        Assert.Equal(500, queue.Delivered);
        Assert.Equal(0, queue.Dropped);
    }

    [Fact]
    public async Task OnTransition_QueueFull_DropsAreCountedAndLoggedWithoutBlocking()
    {
        var sink = new GatedSink();
        var logs = new TestLogs();
        long metered = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == NotifierMeter.Name && instrument.Name == "smartcity.notifier.dropped")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "notifier", Value: nameof(GatedSink) })
                {
                    Interlocked.Add(ref metered, value);
                }
            }
        });
        listener.Start();
        await using var queue = Queue(sink, logs, capacity: 2);

        await queue.OnTransitionAsync(T(0), CancellationToken.None);
        await sink.Started.WaitAsync(Timeout);   // T(0) is in the notifier's hands; the queue is empty
        for (var i = 1; i <= 6; i++)
        {
            Assert.True(queue.OnTransitionAsync(T(i), CancellationToken.None).AsTask().IsCompletedSuccessfully);
        }

        Assert.Equal(4, queue.Dropped);
        Assert.Equal(4, Interlocked.Read(ref metered));
        Assert.Equal(2, queue.Pending);
        // The first drop is logged (then one in a thousand), naming the notifier.
        var dropLog = Assert.Single(logs.Entries, e => e.EventId == 6102);
        Assert.Contains(nameof(GatedSink), dropLog.Message);
        Assert.Contains("a-3", dropLog.Message);

        sink.Open();
        await queue.StopAsync(CancellationToken.None);
        Assert.Equal(["a-0", "a-1", "a-2"], sink.Ids);
        Assert.Equal(3, queue.Delivered);
    }

    [Fact]
    public async Task OnTransition_SinkThrows_FailureCountedAndLoggedAndNextTransitionStillDelivered()
    {
        var sink = new GatedSink(open: true) { FailOn = "a-1" };
        var logs = new TestLogs();
        await using var queue = Queue(sink, logs);

        await queue.OnTransitionAsync(T(1), CancellationToken.None);
        await queue.OnTransitionAsync(T(2), CancellationToken.None);
        await sink.WaitForAsync(1, Timeout);
        await queue.StopAsync(CancellationToken.None);

        Assert.Equal(["a-2"], sink.Ids);
        Assert.Equal(1, queue.Failed);
        Assert.Equal(1, queue.Delivered);
        var failure = Assert.Single(logs.Entries, e => e.EventId == 6101);
        Assert.Equal(LogLevel.Error, failure.Level);
        Assert.Contains("receiver exploded", failure.Message);
    }

    [Fact]
    public async Task Stop_QueuedTransitions_DeliveredBeforeStopReturns()
    {
        var sink = new GatedSink();
        await using var queue = Queue(sink, new TestLogs());
        for (var i = 0; i < 5; i++)
        {
            await queue.OnTransitionAsync(T(i), CancellationToken.None);
        }

        var stop = queue.StopAsync(CancellationToken.None);
        Assert.False(stop.IsCompleted);
        sink.Open();
        await stop.WaitAsync(Timeout);

        Assert.Equal(5, sink.Ids.Count);
        // Stopped: later transitions are refused (counted), never delivered.
        await queue.OnTransitionAsync(T(99), CancellationToken.None);
        Assert.Equal(1, queue.Dropped);
    }

    [Fact]
    public async Task Stop_SinkNeverFinishes_GivesUpAfterDrainTimeoutAndCountsWhatIsLeft()
    {
        var sink = new GatedSink();
        var logs = new TestLogs();
        await using var queue = Queue(sink, logs, drain: TimeSpan.FromMilliseconds(200));
        for (var i = 0; i < 4; i++)
        {
            await queue.OnTransitionAsync(T(i), CancellationToken.None);
        }

        await sink.Started.WaitAsync(Timeout);
        await queue.StopAsync(CancellationToken.None).WaitAsync(Timeout);

        // The one in the notifier's hands was cancelled and the three waiting were never sent.
        Assert.Equal(4, queue.Dropped);
        Assert.Empty(sink.Ids);
        Assert.Contains(logs.Entries, e => e.EventId == 6103 && e.Message.Contains("3 queued transitions", StringComparison.Ordinal));
    }

    private static QueuedAlertNotifier Queue(IAlertNotifier sink, TestLogs logs, int capacity = 10_000, TimeSpan? drain = null) =>
        new(sink, new NotifierQueueOptions { Capacity = capacity, DrainTimeout = drain ?? TimeSpan.FromSeconds(30) }, logs.For<QueuedAlertNotifier>());

    internal static AlertTransition T(int i) => new(
        new Alert
        {
            Id = $"a-{i}",
            DeviceId = "door-1",
            Rule = "door_forced",
            ProfileId = "door_contact",
            Severity = AlertSeverity.Critical,
            Sector = "security",
            District = "north",
            Site = "town-hall",
            RaisedAt = AlertTestKit.Noon,
        },
        new AlertHistoryEntry(AlertTransitionKind.Raised, AlertTestKit.Noon),
        Suppressed: false);

    /// <summary>A notifier that waits for a gate before it takes each transition (honouring cancellation), and records what it took.</summary>
    private sealed class GatedSink(bool open = false) : IAlertNotifier
    {
        private readonly TaskCompletionSource _gate = NewSignal(open);
        private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string> _ids = new();
        private readonly Lock _lock = new();
        private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string? FailOn { get; init; }

        public Task Started => _started.Task;

        public IReadOnlyList<string> Ids => [.. _ids];

        public void Open() => _gate.TrySetResult();

        public async ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
        {
            _started.TrySetResult();
            await _gate.Task.WaitAsync(cancellationToken);
            if (transition.Alert.Id == FailOn)
            {
                throw new InvalidOperationException("receiver exploded");
            }

            _ids.Enqueue(transition.Alert.Id);
            lock (_lock)
            {
                _arrived.TrySetResult();
                _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }

        public async Task WaitForAsync(int count, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                Task next;
                lock (_lock)
                {
                    if (_ids.Count >= count)
                    {
                        return;
                    }

                    next = _arrived.Task;
                }

                await next.WaitAsync(cts.Token);
            }
        }

        private static TaskCompletionSource NewSignal(bool set)
        {
            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (set)
            {
                tcs.SetResult();
            }

            return tcs;
        }
    }
}

/// <summary>Log entries of the code under test, kept for assertions.</summary>
internal sealed class TestLogs
{
    private readonly ConcurrentQueue<(LogLevel Level, int EventId, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, int EventId, string Message)> Entries => [.. _entries];

    public ILogger<T> For<T>() => new Logger<T>(this);

    private sealed class Logger<T>(TestLogs owner) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue((logLevel, eventId.Id, formatter(state, exception) + (exception is null ? "" : " " + exception)));
    }
}

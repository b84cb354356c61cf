namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// "Something changed": <see cref="Notify"/> after each change, and waiters re-check their condition then,
/// never on a timer. Shared by the test doubles that collect what the worker sends (logs, OTLP requests).
/// </summary>
public sealed class ConditionSignal
{
    private readonly object _lock = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Notify()
    {
        TaskCompletionSource previous;
        lock (_lock)
        {
            previous = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        previous.TrySetResult();
    }

    /// <summary>Waits until <paramref name="condition"/> holds, re-checking after each change; the timeout names <paramref name="describe"/>'s state.</summary>
    public async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                next = _changed.Task;
            }

            if (condition())
            {
                return;
            }

            try
            {
                await next.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"condition not met within {timeout}: {describe()}");
            }
        }
    }
}

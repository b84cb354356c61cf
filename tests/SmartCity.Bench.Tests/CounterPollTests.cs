using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Tests;

/// <summary>
/// The warm-ups' poll of the measured process's counters (the worker's and the Node-RED peer's): read over and over
/// while the warm-up runs, as the measured window reads them, and stopped before the warm-up's result is returned.
/// </summary>
public sealed class CounterPollTests
{
    // Only how long a wait may take on a loaded machine; never a bound the tests assert.
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task WhileAsync_RunInProgress_CountersReadRepeatedly()
    {
        var reads = 0;
        var threeReads = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task Read()
        {
            if (Interlocked.Increment(ref reads) == 3)
            {
                threeReads.TrySetResult();
            }

            return Task.CompletedTask;
        }

        // The run ends only once the counters have been read three times while it was in progress: without the
        // poll (the peer's warm-up before this change) it never would, and the wait times out.
        var result = await CounterPoll.WhileAsync(Read, async () =>
        {
            await threeReads.Task.WaitAsync(Timeout);
            return 42L;
        });

        Assert.Equal(42L, result);
        Assert.True(Volatile.Read(ref reads) >= 3);
    }

    [Fact]
    public async Task WhileAsync_RunFails_PollStoppedAndTheFailureSurfaces()
    {
        var firstRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Task Read()
        {
            firstRead.TrySetResult();
            return Task.CompletedTask;
        }

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => CounterPoll.WhileAsync<long>(Read, async () =>
        {
            await firstRead.Task.WaitAsync(Timeout);
            throw new InvalidOperationException("warm-up failed");
        }));

        Assert.Equal("warm-up failed", failure.Message);
    }
}

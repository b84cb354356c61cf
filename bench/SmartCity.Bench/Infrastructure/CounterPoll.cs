namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// The bench's own reads of a measured process's counters (the worker's /api/pipeline, the Node-RED peer's flow
/// counters). The measured window reads them every <see cref="Interval"/> while it waits for the far end, so the
/// warm-up must read them at the same cadence: otherwise the read's own request path (Kestrel and ASP.NET in the
/// worker, the HTTP node in Node-RED) is compiled and tiered up inside the window and counted as its cost (session 11:
/// 1,489 methods compiled in a quiet max-rate window, 23-52 % JIT, before the worker's warm-up polled).
/// </summary>
public static class CounterPoll
{
    /// <summary>How often the counters are read, in the measured window and in the warm-up alike.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(25);

    /// <summary>Runs <paramref name="run"/> while calling <paramref name="read"/> every <see cref="Interval"/>; returns when both have stopped.</summary>
    public static async Task<T> WhileAsync<T>(Func<Task> read, Func<Task<T>> run)
    {
        using var stop = new CancellationTokenSource();
        var poll = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await read();
                await Task.Delay(Interval);
            }
        });
        try
        {
            return await run();
        }
        finally
        {
            await stop.CancelAsync();
            await poll;
        }
    }
}

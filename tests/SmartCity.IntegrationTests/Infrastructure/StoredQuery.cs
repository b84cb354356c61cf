using SmartCity.Telemetry.Diagnostics;


namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>Re-runs an InfluxDB query after every batch the worker stores, until its answer is the one wanted.</summary>
public static class StoredQuery
{
    /// <summary>
    /// The first answer of <paramref name="query"/> that satisfies <paramref name="done"/>, or the
    /// last answer once <paramref name="timeout"/> has passed (the caller's assertion then says what
    /// is missing). The wait for the next batch is armed before each query: a batch committed while
    /// the query runs still wakes it, where arming it afterwards would wait for the batch after that.
    /// </summary>
    public static async Task<T> WaitForAsync<T>(PipelineMetrics metrics, Func<Task<T>> query, Func<T, bool> done, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        while (true)
        {
            var next = metrics.NextProgressAsync(Timeout.InfiniteTimeSpan);
            var answer = await query();
            if (done(answer) || deadline.IsCancellationRequested)
            {
                return answer;
            }

            try
            {
                await next.WaitAsync(deadline.Token);
            }
            catch (OperationCanceledException)
            {
                return await query();
            }
        }
    }
}

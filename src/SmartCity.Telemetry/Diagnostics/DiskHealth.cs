using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>One component that cannot write its files, and why.</summary>
public sealed record DiskProblem(string Component, string Path, string Error, DateTimeOffset Since);

/// <summary>
/// Write failures of the worker's own files (spool, cursor, device registry) as states, not crashes:
/// each component reports a failure and its recovery here; /healthz lists what is failing and where,
/// and each episode (first failure until recovery) is counted once, so callers log Critical once.
/// </summary>
public sealed class DiskHealth : IDisposable
{
    private readonly ConcurrentDictionary<string, DiskProblem> _problems = new(StringComparer.Ordinal);
    private readonly Meter _meter = new("SmartCity.Disk");
    private readonly Counter<long> _episodes;
    private long _episodeCount;
    private long _failureCount;

    public DiskHealth()
    {
        _episodes = _meter.CreateCounter<long>("smartcity.disk.write_failure_episodes", "{episode}", "Times a component started failing to write its files (disk full, I/O error, read-only)");
    }

    /// <summary>Episodes so far: a component going from writing to failing.</summary>
    public long Episodes => Interlocked.Read(ref _episodeCount);

    /// <summary>Failed writes so far, retries included.</summary>
    public long Failures => Interlocked.Read(ref _failureCount);

    public IReadOnlyCollection<DiskProblem> Problems => [.. _problems.Values.OrderBy(p => p.Component, StringComparer.Ordinal)];

    public bool IsFailing(string component) => _problems.ContainsKey(component);

    /// <summary>Records a failed write; true when it starts an episode (log Critical then, not on every retry).</summary>
    public bool Failed(string component, string path, Exception error, DateTimeOffset now)
    {
        Interlocked.Increment(ref _failureCount);
        var problem = new DiskProblem(component, path, Describe(error), now);
        if (!_problems.TryAdd(component, problem))
        {
            _problems[component] = _problems[component] with { Error = problem.Error };
            return false;
        }

        Interlocked.Increment(ref _episodeCount);
        _episodes.Add(1);
        return true;
    }

    /// <summary>The component wrote again; true when that ends an episode.</summary>
    public bool Recovered(string component) => _problems.TryRemove(component, out _);

    /// <summary>"disk full" for ENOSPC, otherwise the error's message (EIO, read-only file system, permission).</summary>
    public static string Describe(Exception error) => IsDiskFull(error) ? "disk full" : error.Message;

    /// <summary>ENOSPC (28) or EDQUOT (122) on Linux, ERROR_DISK_FULL/ERROR_HANDLE_DISK_FULL on Windows.</summary>
    public static bool IsDiskFull(Exception error) =>
        error is IOException io && ((io.HResult & 0xFFFF) is 28 or 122 or 39 or 112 || io.Message.Contains("No space left", StringComparison.OrdinalIgnoreCase));

    /// <summary>Errors a write can recover from once an operator frees space or fixes the mount.</summary>
    public static bool IsRecoverable(Exception error) => error is IOException or UnauthorizedAccessException;

    public void Dispose() => _meter.Dispose();
}

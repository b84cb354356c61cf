namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// The failures of one state file's saves as a state, not a crash: each failure counted, the first of an
/// episode shown in /healthz (<see cref="DiskHealth"/>) and reported as such, so the owner logs Critical
/// once and a warning on each retry; a save that works again ends the episode. Shared by every saver
/// (<see cref="PeriodicSaver"/>, the alert state's debounced one) so they count and report alike.
/// </summary>
public sealed class SaveHealth(string component, DiskHealth? disk, TimeProvider time)
{
    private long _failures;

    /// <summary>The name /healthz shows (for example "device registry").</summary>
    public string Component => component;

    /// <summary>Saves that failed (disk full, I/O error, permission), retries included.</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>Counts a failed save of <paramref name="path"/>; true when it starts an episode (log Critical then).</summary>
    public bool Failed(string path, Exception error)
    {
        Interlocked.Increment(ref _failures);
        return disk?.Failed(component, path, error, time.GetUtcNow()) ?? false;
    }

    /// <summary>A save worked; true when that ends an episode (log the recovery then).</summary>
    public bool Succeeded() => disk?.Recovered(component) ?? false;
}

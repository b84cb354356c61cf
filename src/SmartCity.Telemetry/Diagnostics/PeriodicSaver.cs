using Microsoft.Extensions.Hosting;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// The save loop of state kept in memory and written as a whole now and then (the device registry, the TALQ
/// devices' last values): <see cref="SaveIfChanged"/> once per interval of the injected clock, and once more at
/// a graceful stop. A save that fails with an I/O error (disk full, read-only, permission) is counted and
/// reported (<see cref="SaveHealth"/>) and tried again at the next tick: one IOException used to end the
/// hosted service and with it the worker. The derived class keeps its state dirty until a save works.
/// </summary>
public abstract class PeriodicSaver : BackgroundService
{
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;

    /// <param name="disk">Where failures show in /healthz; null to only count them.</param>
    protected PeriodicSaver(TimeSpan interval, TimeProvider time, string component, DiskHealth? disk)
    {
        _interval = interval;
        _time = time;
        Health = new SaveHealth(component, disk, time);
    }

    /// <summary>Saves that failed, retries included.</summary>
    public long SaveFailures => Health.Failures;

    protected SaveHealth Health { get; }

    /// <summary>The file saved to (what a failure report names).</summary>
    protected abstract string SavedPath { get; }

    /// <summary>Writes the state if it changed since the last save that worked; throws when it cannot.</summary>
    protected abstract void SaveIfChanged();

    /// <summary>A save failed with <paramref name="failure"/>; <paramref name="episodeStarted"/> when it is the first since the last one that worked.</summary>
    protected abstract void OnSaveFailed(Exception failure, bool episodeStarted);

    /// <summary>A save worked after failing.</summary>
    protected virtual void OnSaveRecovered()
    {
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                TrySave();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        TrySave();
    }

    private void TrySave()
    {
        try
        {
            SaveIfChanged();
        }
        catch (Exception ex) when (DiskHealth.IsRecoverable(ex))
        {
            OnSaveFailed(ex, Health.Failed(SavedPath, ex));
            return;
        }

        if (Health.Succeeded())
        {
            OnSaveRecovered();
        }
    }
}

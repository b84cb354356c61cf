namespace SmartCity.Worker.Talq;

/// <summary>
/// Writes the TALQ devices' last values at most once per <see cref="TalqDeviceStore.ValuesSaveInterval"/> while
/// log reports change them, and once more at a graceful stop. A failed write is logged and retried next time;
/// the worker keeps running (the values are in memory, and the next reports bring them again).
/// </summary>
public sealed partial class TalqStateSaver(TalqDeviceStore store, TimeProvider time, ILogger<TalqStateSaver> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TalqDeviceStore.ValuesSaveInterval, time);
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
            store.SaveIfChanged();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(store.Path, ex.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "TALQ devices' last values cannot be saved to {Path} ({Error}); retrying")]
    private partial void LogSaveFailed(string path, string error);
}

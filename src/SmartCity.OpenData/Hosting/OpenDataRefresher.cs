using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.OpenData.Datasets;
using SmartCity.OpenData.Publishing;

namespace SmartCity.OpenData.Hosting;

/// <summary>
/// Rebuilds the datasets at start and then every <see cref="OpenDataOptions.RefreshInterval"/> (on the
/// injected clock). A failed rebuild (InfluxDB down) keeps the last datasets and is retried at the next tick.
/// </summary>
public sealed partial class OpenDataRefresher(OpenDataBuilder builder, OpenDataStore store, IOptions<OpenDataOptions> options, TimeProvider time, ILogger<OpenDataRefresher> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    /// <summary>Builds and publishes now; true when the datasets were replaced.</summary>
    public async Task<bool> RefreshAsync(CancellationToken cancellationToken)
    {
        // One rebuild at a time: a tick and a manual refresh would otherwise race to publish.
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var snapshot = await builder.BuildAsync(cancellationToken).ConfigureAwait(false);
            await store.PublishAsync(snapshot, cancellationToken).ConfigureAwait(false);
            LogRefreshed(snapshot);
            return true;
        }
        catch (Exception ex) when (ex is InfluxQueryException or IOException or UnauthorizedAccessException)
        {
            LogRefreshFailed(ex.Message);
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        store.Load();
        using var timer = new PeriodicTimer(options.Value.RefreshInterval, time);
        try
        {
            do
            {
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    private void LogRefreshed(Datasets.OpenDataSnapshot snapshot)
    {
        if (logger.IsEnabled(LogLevel.Information))
        {
            var rows = snapshot.Tables.Sum(t => t.Rows.Count);
            var suppressed = snapshot.Tables.Sum(t => t.SuppressedGroups);
            LogRefreshed(snapshot.Tables.Count, rows, suppressed);
        }
    }

    [LoggerMessage(EventId = 2302, Level = LogLevel.Information, Message = "Open data rebuilt: {Datasets} datasets, {Rows} rows, {Suppressed} groups below the minimum size left out")]
    private partial void LogRefreshed(int datasets, int rows, int suppressed);

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning, Message = "Open data not rebuilt, the last datasets stay published: {Reason}")]
    private partial void LogRefreshFailed(string reason);
}

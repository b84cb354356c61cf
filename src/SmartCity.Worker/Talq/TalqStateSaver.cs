using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Worker.Talq;

/// <summary>
/// Writes the TALQ devices' last values at most once per <see cref="TalqDeviceStore.ValuesSaveInterval"/> while
/// log reports change them, and once more at a graceful stop (the loop is <see cref="PeriodicSaver"/>'s). A failed
/// write is logged and retried next time; the worker keeps running (the values are in memory, and the next reports
/// bring them again).
/// </summary>
public sealed partial class TalqStateSaver(TalqDeviceStore store, TimeProvider time, ILogger<TalqStateSaver> logger)
    : PeriodicSaver(TalqDeviceStore.ValuesSaveInterval, time, "TALQ devices' values", disk: null)
{
    protected override string SavedPath => store.Path;

    protected override void SaveIfChanged() => store.SaveIfChanged();

    protected override void OnSaveFailed(Exception failure, bool episodeStarted) => LogSaveFailed(store.Path, failure.Message);

    [LoggerMessage(Level = LogLevel.Warning, Message = "TALQ devices' last values cannot be saved to {Path} ({Error}); retrying")]
    private partial void LogSaveFailed(string path, string error);
}

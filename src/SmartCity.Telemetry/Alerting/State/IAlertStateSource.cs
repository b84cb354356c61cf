namespace SmartCity.Telemetry.Alerting.State;

/// <summary>What the <see cref="AlertStateSaver"/> needs of the engine: the state to write, and word that a write failed.</summary>
internal interface IAlertStateSource
{
    /// <summary>Saves go through <paramref name="saver"/> (debounced, off the alert thread) from now on.</summary>
    void SaveThrough(AlertStateSaver saver);

    /// <summary>What changed since the last save, copied, or null when nothing did.</summary>
    AlertEngineSnapshot? TakeSnapshot(bool allDevices);

    /// <summary><paramref name="snapshot"/> was not written, so what it held is still to save.</summary>
    void SaveFailed(AlertEngineSnapshot snapshot);
}

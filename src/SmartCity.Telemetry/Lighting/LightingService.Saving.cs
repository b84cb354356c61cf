namespace SmartCity.Telemetry.Lighting;

/// <summary>Saving the state file.</summary>
public sealed partial class LightingService
{
    /// <summary>The state file's writer (a test holds its directory fsync, as a busy disk does).</summary>
    internal LightingStateFile StateFileWriter => _file;
}

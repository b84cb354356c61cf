using System.Text.Json;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.State;

/// <summary>
/// The embedded store: one JSON file (no server for a one-node city), replaced atomically
/// (write a temporary file, flush it to disk, rename over the old one), so a crash leaves either
/// the old or the new state, never half of one.
/// </summary>
public sealed class AlertStore
{
    internal static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        WriteIndented = false,
        Converters = { new AlertStateNames<AlertState>(), new AlertStateNames<AlertTransitionKind>() },
    };

    public AlertStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
    }

    public string Path { get; }

    /// <summary>Bytes written to the state files so far (for the benchmark of the save policy).</summary>
    public long BytesWritten => Interlocked.Read(ref _bytesWritten);

    private long _bytesWritten;

    /// <summary>The devices' liveness (large, saved at most once a minute), beside the main file: <c>alerts.devices.json</c>.</summary>
    public string DevicesPath => System.IO.Path.Combine(
        System.IO.Path.GetDirectoryName(Path) ?? "",
        System.IO.Path.GetFileNameWithoutExtension(Path) + ".devices" + System.IO.Path.GetExtension(Path));

    /// <summary>The saved state, or null on first start. A file that cannot be read stops the start:
    /// silently starting empty would forget open alerts and raise them all again.</summary>
    internal AlertEngineSnapshot? Load()
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        AlertEngineSnapshot snapshot;
        try
        {
            snapshot = JsonSerializer.Deserialize<AlertEngineSnapshot>(File.ReadAllBytes(Path), Json)
                ?? throw new InvalidDataException($"{Path}: alert state file is empty (null)");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"{Path}: alert state file cannot be read ({ex.Message}); move it aside to start with no alerts", ex);
        }

        if (snapshot.Devices is null && File.Exists(DevicesPath))
        {
            try
            {
                snapshot.Devices = JsonSerializer.Deserialize<List<DeviceAlertState>>(File.ReadAllBytes(DevicesPath), Json);
            }
            catch (JsonException)
            {
                // Liveness only: without it every device counts from its next message (no alert is lost).
                snapshot.Devices = null;
            }
        }

        return snapshot;
    }

    /// <summary>Writes <paramref name="snapshot"/>; its device rows, if any, go back to their pool, written or not.</summary>
    internal void Save(AlertEngineSnapshot snapshot)
    {
        try
        {
            var directory = System.IO.Path.GetDirectoryName(Path);
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            if (snapshot.Devices is { } devices)
            {
                Replace(DevicesPath, devices);
            }
            else if (snapshot.DeviceRows is { } rows)
            {
                Interlocked.Add(ref _bytesWritten, StateFile.Replace(DevicesPath, rows.Write));
            }

            Replace(Path, new AlertEngineSnapshot { Version = snapshot.Version, Alerts = snapshot.Alerts, Rules = snapshot.Rules });
        }
        finally
        {
            snapshot.DeviceRows?.Dispose();
        }
    }

    private void Replace<T>(string path, T value) =>
        Interlocked.Add(ref _bytesWritten, StateFile.Replace(path, stream => JsonSerializer.Serialize(stream, value, Json)));
}

using System.Text.Json;

namespace SmartCity.Telemetry.Alerting;

/// <summary>What the engine knows of one device between messages.</summary>
internal sealed class DeviceAlertState
{
    private DeviceIdentity _identity = null!;
    private string _profileId = null!;

    public required DeviceIdentity Identity
    {
        get => _identity;
        set
        {
            _identity = value;
            Rules = null;
        }
    }

    public required string ProfileId
    {
        get => _profileId;
        set
        {
            _profileId = value;
            Rules = null;
        }
    }

    /// <summary>
    /// The rules that apply to this identity and profile, worked out once (not saved): kept here rather
    /// than in a dictionary of its own, which cost an entry, a key and a copy of the identity per device.
    /// Cleared whenever the identity or the profile changes.
    /// </summary>
    internal IReadOnlyList<AlertRule>? Rules;

    /// <summary>Engine time of the last message: the deadman timer runs on the engine's clock,
    /// because replayed or skewed device clocks say nothing about whether the device is alive now.</summary>
    public DateTimeOffset LastReceivedAt { get; set; }

    /// <summary>Newest device timestamp seen, whatever the message.</summary>
    public DateTimeOffset? LastTimestamp { get; set; }

    /// <summary>
    /// Newest device timestamp of a reading judged by the threshold, flag and rate rules: a rule
    /// with no state of its own ignores readings older than this (late or redelivered).
    /// </summary>
    public DateTimeOffset? LastLevelTimestamp { get; set; }

    /// <summary>The device it depends on (its birth's <c>parent</c>: a lamp's cabinet).</summary>
    public string? Parent { get; set; }

    /// <summary>A copy for a save written off the alert thread (the identity is immutable, the rest values).</summary>
    internal DeviceAlertState Copy() => (DeviceAlertState)MemberwiseClone();
}

/// <summary>Evaluation state of one rule on one device.</summary>
internal sealed class RuleAlertState
{
    public required string DeviceId { get; set; }

    public required string Rule { get; set; }

    /// <summary>Newest device timestamp evaluated: older or equal ones are late or duplicates.</summary>
    public DateTimeOffset? LastTimestamp { get; set; }

    /// <summary>Device time since which the raise condition has held (pending <c>for</c>).</summary>
    public DateTimeOffset? ConditionSince { get; set; }

    /// <summary>Engine time the condition started, for the timer that raises without a new reading.</summary>
    public DateTimeOffset? ConditionSinceReceived { get; set; }

    /// <summary>Which side the pending or raised condition is on (+1 above, -1 below).</summary>
    public int Side { get; set; }

    public double? PreviousValue { get; set; }

    public DateTimeOffset? PreviousTimestamp { get; set; }

    public string? OpenAlertId { get; set; }

    public string? LastAlertId { get; set; }

    /// <summary>
    /// Offline rules of a device with a parent: the last will arrived at this engine time, and the
    /// alert waits <see cref="AlertingOptions.GroupHoldDown"/> for the parent's own alert to group it.
    /// </summary>
    public DateTimeOffset? PendingSince { get; set; }

    /// <summary>Offline rules: an operator resolved the alert; the deadman counts from here.</summary>
    public DateTimeOffset? ArmedAt { get; set; }

    /// <summary>Engine times of recent raises and resolves (flapping window).</summary>
    /// <summary>Made on the first raise: most rule states never need one.</summary>
    public List<DateTimeOffset>? FlapTimes { get; set; }

    public bool Flapping { get; set; }

    /// <summary>A copy for a save written off the alert thread: the flap times are the only mutable reference.</summary>
    internal RuleAlertState Copy()
    {
        var copy = (RuleAlertState)MemberwiseClone();
        copy.FlapTimes = FlapTimes is null ? null : [.. FlapTimes];
        return copy;
    }
}

internal sealed class AlertEngineSnapshot
{
    public int Version { get; set; } = 1;

    public List<Alert> Alerts { get; set; } = [];

    /// <summary>Null in the main file: the devices live in their own file, saved less often.</summary>
    public List<DeviceAlertState>? Devices { get; set; }

    public List<RuleAlertState> Rules { get; set; } = [];
}

/// <summary>
/// The embedded store: one JSON file (no server for a one-node city), replaced atomically
/// (write a temporary file, flush it to disk, rename over the old one), so a crash leaves either
/// the old or the new state, never half of one.
/// </summary>
public sealed class AlertStore
{
    private static readonly JsonSerializerOptions Json = new()
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

    internal void Save(AlertEngineSnapshot snapshot)
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

        Replace(Path, new AlertEngineSnapshot { Version = snapshot.Version, Alerts = snapshot.Alerts, Rules = snapshot.Rules });
    }

    private void Replace<T>(string path, T value)
    {
        var temp = path + ".tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, value, Json);
                stream.Flush(flushToDisk: true);
                Interlocked.Add(ref _bytesWritten, stream.Length);
            }

            File.Move(temp, path, overwrite: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not saved: the caller retries. A half-written temporary file would hold the very space a full disk lacks.
            try
            {
                File.Delete(temp);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Left for the next save to overwrite.
            }

            throw;
        }
    }
}

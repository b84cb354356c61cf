using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>A device as the city knows it.</summary>
public sealed record DeviceRecord
{
    public required string DeviceId { get; init; }
    public required string Sector { get; init; }
    public required string District { get; init; }
    public required string Site { get; init; }
    public required string DeviceType { get; init; }
    public required string Profile { get; init; }
    public string? Firmware { get; init; }
    public double? Lat { get; init; }
    public double? Lon { get; init; }
    public bool Online { get; init; }
    public DateTimeOffset FirstSeen { get; init; }
    public DateTimeOffset LastSeen { get; init; }
    public DateTimeOffset? LastBirth { get; init; }
    public DateTimeOffset? WentOffline { get; init; }
}

/// <summary>A device heard from without having announced itself.</summary>
public sealed record QuarantinedDevice(string DeviceId, string DeviceType, string LastTopic, long Messages, DateTimeOffset FirstSeen, DateTimeOffset LastSeen);

/// <summary>
/// Who may send telemetry: devices register with a birth message, go offline with their last
/// will, and are cross-checked on every message (same type, district and site as announced).
/// Messages from unknown devices are quarantined: counted, listed, dead-lettered, never stored as
/// telemetry. The registry is written to <see cref="RegistryOptions.File"/> and read at start.
/// </summary>
public sealed partial class DeviceRegistry : BackgroundService
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly ConcurrentDictionary<string, DeviceRecord> _devices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, QuarantinedDevice> _quarantine = new(StringComparer.Ordinal);
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeviceRegistry> _logger;
    private int _dirty;

    public DeviceRegistry(IOptions<RegistryOptions> options, TimeProvider time, ILogger<DeviceRegistry> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        Load();
    }

    public bool RequireBirth => _options.RequireBirth;

    public IReadOnlyCollection<DeviceRecord> Devices => [.. _devices.Values.OrderBy(d => d.DeviceId, StringComparer.Ordinal)];

    public IReadOnlyCollection<QuarantinedDevice> Quarantined => [.. _quarantine.Values.OrderBy(d => d.DeviceId, StringComparer.Ordinal)];

    public DeviceRecord? Find(string deviceId) => _devices.GetValueOrDefault(deviceId);

    /// <summary>
    /// The registry's verdict on a decoded message: births and wills update it; telemetry and events
    /// from unknown or contradicting devices become rejections.
    /// </summary>
    public DecodeOutcome Admit(DecodeOutcome outcome, DateTimeOffset receivedAt)
    {
        if (outcome.Topic is not { } topic || outcome.Status == DecodeStatus.Ignored)
        {
            return outcome;
        }

        if (topic.Kind == MessageKind.Status)
        {
            if (outcome.Status == DecodeStatus.Accepted)
            {
                ApplyStatus(topic, outcome.Result.Point!, receivedAt);
            }

            return outcome;
        }

        if (outcome.Status != DecodeStatus.Accepted)
        {
            return outcome;
        }

        if (!_devices.TryGetValue(topic.DeviceId, out var device))
        {
            if (!_options.RequireBirth)
            {
                return outcome;
            }

            _quarantine.AddOrUpdate(
                topic.DeviceId,
                _ => new QuarantinedDevice(topic.DeviceId, topic.DeviceType, Shorten(topic), 1, receivedAt, receivedAt),
                (_, q) => q with { Messages = q.Messages + 1, LastSeen = receivedAt, LastTopic = Shorten(topic) });
            return Reject(outcome, RejectReason.UnknownDevice, $"device '{topic.DeviceId}' has not announced itself (no birth message on its status topic); quarantined");
        }

        if (device.DeviceType != topic.DeviceType || device.District != topic.District || device.Site != topic.Site || device.Sector != topic.Sector)
        {
            return Reject(outcome, RejectReason.IdentityMismatch,
                $"device '{topic.DeviceId}' announced itself as {device.DeviceType} in {device.District}/{device.Site}; this message claims {topic.DeviceType} in {topic.District}/{topic.Site}");
        }

        if (receivedAt > device.LastSeen)
        {
            _devices[topic.DeviceId] = device with { LastSeen = receivedAt, Online = true };
        }

        return outcome;
    }

    private void ApplyStatus(DeviceTopic topic, Point point, DateTimeOffset receivedAt)
    {
        var online = point.GetField("online")!.Value.Boolean;
        _devices.AddOrUpdate(
            topic.DeviceId,
            _ => online ? NewRecord(topic, point, receivedAt) : UnknownWentOffline(topic, receivedAt),
            (_, d) => online
                ? NewRecord(topic, point, receivedAt) with { FirstSeen = d.FirstSeen }
                : d with { Online = false, WentOffline = receivedAt, LastSeen = Max(d.LastSeen, receivedAt) });
        if (online)
        {
            _quarantine.TryRemove(topic.DeviceId, out _);
        }

        Interlocked.Exchange(ref _dirty, 1);
    }

    private static DeviceRecord NewRecord(DeviceTopic topic, Point point, DateTimeOffset receivedAt) => new()
    {
        DeviceId = topic.DeviceId,
        Sector = topic.Sector,
        District = topic.District,
        Site = topic.Site,
        DeviceType = topic.DeviceType,
        Profile = point.GetField("profile")!.Value.Text!,
        Firmware = point.GetField("firmware")?.Text,
        Lat = point.GetField("lat")?.Number,
        Lon = point.GetField("lon")?.Number,
        Online = true,
        FirstSeen = receivedAt,
        LastSeen = receivedAt,
        LastBirth = receivedAt,
    };

    // A will from a device we never saw born: remember it as offline, but it stays unregistered for telemetry.
    private static DeviceRecord UnknownWentOffline(DeviceTopic topic, DateTimeOffset receivedAt) => new()
    {
        DeviceId = topic.DeviceId,
        Sector = topic.Sector,
        District = topic.District,
        Site = topic.Site,
        DeviceType = topic.DeviceType,
        Profile = "",
        Online = false,
        FirstSeen = receivedAt,
        LastSeen = receivedAt,
        WentOffline = receivedAt,
    };

    private static DecodeOutcome Reject(DecodeOutcome outcome, RejectReason reason, string detail) =>
        outcome with { Status = DecodeStatus.Rejected, Result = DecodeResult.Rejected(reason, detail) };

    private static string Shorten(DeviceTopic t) => $"{t.Sector}/{t.District}/{t.Site}/{t.DeviceType}/{t.DeviceId}/{t.Kind.ToString().ToLowerInvariant()}";

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    /// <summary>Writes the registry at most once a second while it changes, and once more at stop.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                Save();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        Save();
    }

    /// <summary>Writes the registry now if it changed (write to a temporary file, then rename: never half a file).</summary>
    public void Save()
    {
        if (Interlocked.Exchange(ref _dirty, 0) == 0)
        {
            return;
        }

        var path = Path.GetFullPath(_options.File);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temp = path + ".tmp";
        File.WriteAllBytes(temp, JsonSerializer.SerializeToUtf8Bytes(Devices.Where(d => d.Profile.Length > 0), Json));
        File.Move(temp, path, overwrite: true);
    }

    private void Load()
    {
        var path = Path.GetFullPath(_options.File);
        if (!File.Exists(path))
        {
            return;
        }

        try
        {
            foreach (var d in JsonSerializer.Deserialize<List<DeviceRecord>>(File.ReadAllBytes(path), Json) ?? [])
            {
                _devices[d.DeviceId] = d;
            }

            LogLoaded(_devices.Count, path);
        }
        catch (JsonException ex)
        {
            // A broken registry must not stop the city: devices re-register with their retained births.
            LogUnreadable(path, ex.Message);
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Device registry: {Count} devices read from {Path}")]
    private partial void LogLoaded(int count, string path);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Device registry {Path} is unreadable ({Error}); starting empty, devices re-register with their births")]
    private partial void LogUnreadable(string path, string error);
}

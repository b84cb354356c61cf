using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>A device as the city knows it.</summary>
/// <remarks>
/// The registry keeps its devices in a smaller form of its own and makes a record when one is asked for.
/// The optional values are stored compactly behind the same properties: a coordinate as a double (NaN for
/// none: 8 bytes instead of a nullable's 16) and each instant as its UTC ticks (8 bytes instead of 16, or 24 when nullable; 0 for none). The
/// registry's instants are all the worker's own clock readings (UTC); an instant given with another
/// offset reads back as the same instant in UTC. 128 bytes a record instead of 192.
/// </remarks>
public sealed record DeviceRecord
{
    private readonly double _lat = double.NaN;
    private readonly double _lon = double.NaN;
    private readonly long _firstSeen;
    private readonly long _lastSeen;
    private readonly long _lastBirth;
    private readonly long _wentOffline;

    public required string DeviceId { get; init; }
    public required string Sector { get; init; }
    public required string District { get; init; }
    public required string Site { get; init; }
    public required string DeviceType { get; init; }
    public required string Profile { get; init; }
    public string? Firmware { get; init; }
    public double? Lat { get => double.IsNaN(_lat) ? null : _lat; init => _lat = value ?? double.NaN; }
    public double? Lon { get => double.IsNaN(_lon) ? null : _lon; init => _lon = value ?? double.NaN; }
    public bool Online { get; init; }
    public DateTimeOffset FirstSeen { get => Instant(_firstSeen); init => _firstSeen = value.UtcTicks; }
    public DateTimeOffset LastSeen { get => Instant(_lastSeen); init => _lastSeen = value.UtcTicks; }
    public DateTimeOffset? LastBirth { get => _lastBirth == 0 ? null : Instant(_lastBirth); init => _lastBirth = value?.UtcTicks ?? 0; }
    public DateTimeOffset? WentOffline { get => _wentOffline == 0 ? null : Instant(_wentOffline); init => _wentOffline = value?.UtcTicks ?? 0; }

    /// <summary><see cref="LastSeen"/> as UTC ticks, without making the instant (the registry compares it per message).</summary>
    internal long LastSeenTicks => _lastSeen;

    private static DateTimeOffset Instant(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}

/// <summary>A device heard from without having announced itself.</summary>
public sealed record QuarantinedDevice(string DeviceId, string DeviceType, string LastTopic, long Messages, DateTimeOffset FirstSeen, DateTimeOffset LastSeen);

/// <summary>
/// Who may send telemetry: devices register with a birth message, go offline with their last
/// will, and are cross-checked on every message (same type, district and site as announced).
/// Messages from unknown devices are quarantined: counted, listed, dead-lettered, never stored as
/// telemetry. The registry is written to <see cref="RegistryOptions.File"/> and read at start.
/// </summary>
/// <remarks>
/// Sized for a city's 100,000 devices: a telemetry message from a known device allocates nothing
/// (it moves the device's last-seen instant in place), and the file is streamed record by record
/// instead of being built in memory.
/// </remarks>
public sealed partial class DeviceRegistry : PeriodicSaver
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private static readonly Comparer<Entry> ById = Comparer<Entry>.Create((a, b) => string.CompareOrdinal(a.DeviceId, b.DeviceId));
    private readonly ConcurrentDictionary<string, Entry> _devices;
    private readonly ConcurrentDictionary<string, QuarantinedDevice> _quarantine = new(StringComparer.Ordinal);

    /// <summary>
    /// One instance of each sector, district, site, type, profile and firmware name. Each birth brings
    /// its own copies; kept as they come, 100,000 records held ~600,000 strings of a few thousand names.
    /// </summary>
    private readonly NameTable _names = new();
    private readonly RegistryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<DeviceRegistry> _logger;
    private readonly Lock _saveLock = new();
    private readonly DiskHealth _disk;
    private int _dirty;

    public DeviceRegistry(IOptions<RegistryOptions> options, TimeProvider time, ILogger<DeviceRegistry> logger, DiskHealth? disk = null)
        : base(options.Value.SaveInterval, time, DiskComponent, disk ??= new DiskHealth())
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _disk = disk;
        var saved = Load();
        // Sized once for the city (or the file, if larger) before the first birth, rather than grown by doubling.
        _devices = DeviceMaps.CreateConcurrent<Entry>(Math.Max(_options.ExpectedDevices, saved?.Count ?? 0));
        Add(saved);
        _journal = ReplayJournals();
    }

    public bool RequireBirth => _options.RequireBirth;

    /// <summary>The city's device count as configured (<see cref="RegistryOptions.ExpectedDevices"/>; 0: not known), for the other per-device maps.</summary>
    public int ExpectedDevices => _options.ExpectedDevices;

    public IReadOnlyCollection<DeviceRecord> Devices => [.. _devices.Values.Select(e => e.Snapshot()).OrderBy(d => d.DeviceId, StringComparer.Ordinal)];

    public IReadOnlyCollection<QuarantinedDevice> Quarantined => [.. _quarantine.Values.OrderBy(d => d.DeviceId, StringComparer.Ordinal)];

    /// <summary>Devices known (announced, or seen going offline), without copying them.</summary>
    public int Count => _devices.Count;

    public int QuarantinedCount => _quarantine.Count;

    /// <summary>Devices online now, counted without copying the registry.</summary>
    public int CountOnline()
    {
        var online = 0;
        foreach (var pair in _devices)
        {
            online += pair.Value.Online ? 1 : 0;
        }

        return online;
    }

    public DeviceRecord? Find(string deviceId) => _devices.TryGetValue(deviceId, out var entry) ? entry.Snapshot() : null;

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
            if (outcome.Result.Reason == RejectReason.UnknownDevice)
            {
                // A decoder that knows its devices (a network-server mapping) found none: quarantined as here.
                Quarantine(topic, receivedAt);
            }

            return outcome;
        }

        if (!_devices.TryGetValue(topic.DeviceId, out var entry))
        {
            if (!_options.RequireBirth)
            {
                return outcome;
            }

            Quarantine(topic, receivedAt);
            return Reject(outcome, RejectReason.UnknownDevice, $"device '{topic.DeviceId}' has not announced itself (no birth message on its status topic); quarantined");
        }

        var device = entry.Place;
        if (device.DeviceType != topic.DeviceType || device.District != topic.District || device.Site != topic.Site || device.Sector != topic.Sector)
        {
            return Reject(outcome, RejectReason.IdentityMismatch,
                $"device '{topic.DeviceId}' announced itself as {device.DeviceType} in {device.District}/{device.Site}; this message claims {topic.DeviceType} in {topic.District}/{topic.Site}");
        }

        var wasOnline = entry.Online;
        entry.Seen(receivedAt);
        if (!wasOnline && entry.Online)
        {
            // Back online on telemetry: a change of the record, journaled like a birth (rare: no cost per message).
            JournalPut(topic.DeviceId);
            Interlocked.Exchange(ref _dirty, 1);
        }

        // The registry's own instance of the id goes on (structs: no allocation), so what the stages after it
        // keep per device (lighting's last reading, keyed at a lamp's first telemetry) shares the one string
        // instead of keeping a copy made from some message's topic.
        return ReferenceEquals(topic.DeviceId, entry.DeviceId) ? outcome : outcome with { Topic = topic with { DeviceId = entry.DeviceId } };
    }

    // Its own method: the lambdas' captured state would otherwise be allocated on every call of Admit.
    private void Quarantine(DeviceTopic topic, DateTimeOffset receivedAt) =>
        _quarantine.AddOrUpdate(
            topic.DeviceId,
            _ => new QuarantinedDevice(topic.DeviceId, topic.DeviceType, Shorten(topic), 1, receivedAt, receivedAt),
            (_, q) => q with { Messages = q.Messages + 1, LastSeen = receivedAt, LastTopic = Shorten(topic) });

    private void ApplyStatus(DeviceTopic topic, Point point, DateTimeOffset receivedAt)
    {
        if (StatusDecoder.IsRemoval(point))
        {
            // Decommissioned: forgotten, so it is neither listed nor offline; what it still sends is quarantined.
            _devices.TryRemove(topic.DeviceId, out _);
            _quarantine.TryRemove(topic.DeviceId, out _);
            JournalRemove(topic.DeviceId);
            Interlocked.Exchange(ref _dirty, 1);
            return;
        }

        var online = point.GetField("online")!.Value.Boolean;
        while (true)
        {
            if (_devices.TryGetValue(topic.DeviceId, out var entry))
            {
                Change(entry, topic, point, receivedAt, online);
                break;
            }

            // A first birth makes the entry straight from the message (no record to copy it from: the birth storm's
            // 100,000 births each left one as garbage).
            if (_devices.TryAdd(topic.DeviceId, online ? Born(topic, point, receivedAt) : EntryOf(UnknownWentOffline(topic, receivedAt))))
            {
                break;
            }
        }

        if (online)
        {
            _quarantine.TryRemove(topic.DeviceId, out _);
        }

        // Changed in memory first, then journaled: a save rotating the journal in between has the change in its snapshot.
        JournalPut(topic.DeviceId);
        Interlocked.Exchange(ref _dirty, 1);
    }

    // Its own method: the lambda's captured state would otherwise be allocated on every birth, known device or not.
    private void Change(Entry entry, DeviceTopic topic, Point point, DateTimeOffset receivedAt, bool online) =>
        entry.Replace(d => online
            ? NewRecord(d.DeviceId, topic, point, receivedAt) with { FirstSeen = d.FirstSeen }
            : d with { Online = false, WentOffline = receivedAt, LastSeen = Max(d.LastSeen, receivedAt) }, this);

    private Entry Born(DeviceTopic topic, Point point, DateTimeOffset receivedAt)
    {
        var place = PlacementOf(topic.Sector, topic.District, topic.Site, topic.DeviceType, point.GetField("profile")!.Value.Text!, point.GetField("firmware")?.Text);
        return new Entry(topic.DeviceId, place, point.GetField("lat")?.Number, point.GetField("lon")?.Number, receivedAt);
    }

    // deviceId: the instance the dictionary is keyed by, so a device keeps one copy of its id. The names need not be
    // shared here: the entry keeps the registry's shared placement of them (PlacementOf), not this record.
    private static DeviceRecord NewRecord(string deviceId, DeviceTopic topic, Point point, DateTimeOffset receivedAt) => new()
    {
        DeviceId = deviceId,
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

    private string Shared(string name) => _names.Get(name);

    private static DecodeOutcome Reject(DecodeOutcome outcome, RejectReason reason, string detail) =>
        outcome with { Status = DecodeStatus.Rejected, Result = DecodeResult.Rejected(reason, detail) };

    private static string Shorten(DeviceTopic t) => $"{t.Sector}/{t.District}/{t.Site}/{t.DeviceType}/{t.DeviceId}/{t.Kind.ToString().ToLowerInvariant()}";

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Device registry: {Count} devices read from {Path}")]
    private partial void LogLoaded(int count, string path);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Error, Message = "Device registry {Path} is unreadable ({Error}); starting empty, devices re-register with their births")]
    private partial void LogUnreadable(string path, string error);
}

using System.Collections.Concurrent;
using System.Text.Json;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Devices.Registry;

public sealed partial class DeviceRegistry
{
    /// <summary>
    /// One instance per combination of names a device announces (about 25 street lights of a street share
    /// one): an entry holds one reference to it instead of six, and compares a message against it.
    /// Never removed: bounded by the combinations a city has had, a few thousand, not by its devices.
    /// </summary>
    private readonly ConcurrentDictionary<PlacementKey, Placement> _placements = new();

    /// <summary>Where a device is and what it is, shared by the devices that announced the same.</summary>
    private sealed record Placement(string Sector, string District, string Site, string DeviceType, string Profile, string? Firmware);

    /// <summary>The names of a placement, compared by value: looked up without allocating (a birth's are the message's own strings).</summary>
    private readonly record struct PlacementKey(string Sector, string District, string Site, string DeviceType, string Profile, string? Firmware);

    private Placement PlacementOf(DeviceRecord d) => PlacementOf(d.Sector, d.District, d.Site, d.DeviceType, d.Profile, d.Firmware);

    /// <summary>The registry's one instance of this placement, its names shared too.</summary>
    private Placement PlacementOf(string sector, string district, string site, string deviceType, string profile, string? firmware)
    {
        if (_placements.TryGetValue(new PlacementKey(sector, district, site, deviceType, profile, firmware), out var known))
        {
            return known;
        }

        var shared = new Placement(Shared(sector), Shared(district), Shared(site), Shared(deviceType), Shared(profile), firmware is null ? null : Shared(firmware));
        return _placements.GetOrAdd(new PlacementKey(shared.Sector, shared.District, shared.Site, shared.DeviceType, shared.Profile, shared.Firmware), shared);
    }

    /// <summary>
    /// One device, in 88 bytes (a city has 100,000): its id, its shared <see cref="Placement"/> and its values,
    /// instead of an immutable <see cref="DeviceRecord"/> (128 bytes, six name references) behind an entry of
    /// its own (32). A <see cref="DeviceRecord"/> is made when one is asked for (<see cref="Snapshot"/>).
    /// Births, wills and a device coming back online change the entry under its lock (rare); telemetry only
    /// moves <see cref="_lastSeenTicks"/> forward, in place, so it allocates nothing. Instants are UTC ticks
    /// (0: none) and coordinates NaN for none, as <see cref="DeviceRecord"/> keeps them.
    /// </summary>
    private sealed class Entry
    {
        private volatile Placement _place;
        private volatile bool _online;
        private double _lat;
        private double _lon;
        private long _firstSeen;
        private long _lastBirth;
        private long _wentOffline;
        private long _lastSeenTicks;

        public Entry(DeviceRecord record, Placement place)
        {
            DeviceId = record.DeviceId;
            _place = place;
            SetLocked(record, place);
        }

        /// <summary>A first birth: online, first and last seen and born at <paramref name="at"/>.</summary>
        public Entry(string deviceId, Placement place, double? lat, double? lon, DateTimeOffset at)
        {
            DeviceId = deviceId;
            _place = place;
            _online = true;
            _lat = lat ?? double.NaN;
            _lon = lon ?? double.NaN;
            _firstSeen = _lastBirth = _lastSeenTicks = at.UtcTicks;
        }

        public string DeviceId { get; }

        /// <summary>Read once per message: one reference, so its names are always one announcement's.</summary>
        public Placement Place => _place;

        public bool Online => _online;

        /// <summary>False for a will from a device never born: remembered, but not registered (nor written to the file).</summary>
        public bool Registered => _place.Profile.Length > 0;

        public long LastSeenTicks => Volatile.Read(ref _lastSeenTicks);

        public DeviceRecord Snapshot()
        {
            lock (this)
            {
                return SnapshotLocked();
            }
        }

        /// <summary>The file's and the journal's JSON object of the device, written from the entry (no record made).</summary>
        public void Write(Utf8JsonWriter w)
        {
            // The same JSON as JsonSerializer with camelCase names (Load reads it with the serializer), without
            // the serializer's per-record metadata work.
            lock (this)
            {
                var p = _place;
                w.WriteStartObject();
                w.WriteString(Names.DeviceId, DeviceId);
                w.WriteString(Names.Sector, p.Sector);
                w.WriteString(Names.District, p.District);
                w.WriteString(Names.Site, p.Site);
                w.WriteString(Names.DeviceType, p.DeviceType);
                w.WriteString(Names.Profile, p.Profile);
                w.WriteString(Names.Firmware, p.Firmware);
                WriteNumber(w, Names.Lat, Nullable(_lat));
                WriteNumber(w, Names.Lon, Nullable(_lon));
                w.WriteBoolean(Names.Online, _online);
                w.WriteString(Names.FirstSeen, Instant(_firstSeen));
                w.WriteString(Names.LastSeen, Instant(Volatile.Read(ref _lastSeenTicks)));
                StateFile.WriteInstant(w, Names.LastBirth, OrNone(_lastBirth));
                StateFile.WriteInstant(w, Names.WentOffline, OrNone(_wentOffline));
                w.WriteEndObject();
            }
        }

        /// <summary>Telemetry: later than anything seen, the device is online again and seen at that instant.</summary>
        public void Seen(DateTimeOffset receivedAt)
        {
            var ticks = receivedAt.UtcTicks;
            var seen = Volatile.Read(ref _lastSeenTicks);
            if (ticks <= seen)
            {
                return;
            }

            if (!_online)
            {
                lock (this)
                {
                    _online = true;
                }
            }

            while (ticks > seen)
            {
                var found = Interlocked.CompareExchange(ref _lastSeenTicks, ticks, seen);
                if (found == seen)
                {
                    return;
                }

                seen = found;
            }
        }

        /// <summary>Births, wills, preregistration: the new record from the current one (last-seen included), its last-seen taken as is.</summary>
        public void Replace(Func<DeviceRecord, DeviceRecord> change, DeviceRegistry registry)
        {
            lock (this)
            {
                var next = change(SnapshotLocked());
                SetLocked(next, registry.PlacementOf(next));
            }
        }

        private void SetLocked(DeviceRecord record, Placement place)
        {
            _place = place;
            _lat = record.Lat ?? double.NaN;
            _lon = record.Lon ?? double.NaN;
            _firstSeen = record.FirstSeen.UtcTicks;
            _lastBirth = record.LastBirth?.UtcTicks ?? 0;
            _wentOffline = record.WentOffline?.UtcTicks ?? 0;
            _online = record.Online;
            Volatile.Write(ref _lastSeenTicks, record.LastSeenTicks);
        }

        private DeviceRecord SnapshotLocked()
        {
            var p = _place;
            return new DeviceRecord
            {
                DeviceId = DeviceId,
                Sector = p.Sector,
                District = p.District,
                Site = p.Site,
                DeviceType = p.DeviceType,
                Profile = p.Profile,
                Firmware = p.Firmware,
                Lat = Nullable(_lat),
                Lon = Nullable(_lon),
                Online = _online,
                FirstSeen = Instant(_firstSeen),
                LastSeen = Instant(Volatile.Read(ref _lastSeenTicks)),
                LastBirth = OrNone(_lastBirth),
                WentOffline = OrNone(_wentOffline),
            };
        }

        private static double? Nullable(double value) => double.IsNaN(value) ? null : value;

        private static DateTimeOffset Instant(long utcTicks) => new(utcTicks, TimeSpan.Zero);

        private static DateTimeOffset? OrNone(long utcTicks) => utcTicks == 0 ? null : Instant(utcTicks);
    }
}

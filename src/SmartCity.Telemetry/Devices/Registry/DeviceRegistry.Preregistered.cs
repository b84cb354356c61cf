namespace SmartCity.Telemetry.Devices.Registry;

public sealed partial class DeviceRegistry
{
    /// <summary>
    /// Devices the city already knows from elsewhere (a network server's mapping file) are registered
    /// without a birth: their telemetry is admitted from the first uplink. They start offline until
    /// heard. A device already registered keeps its record; one the mapping moved (another site,
    /// district or profile) takes the mapping's identity. Returns how many were added or changed.
    /// </summary>
    public int Preregister(IEnumerable<(DeviceTopic Topic, string Profile)> devices)
    {
        var now = _time.GetUtcNow();
        var changed = 0;
        foreach (var (topic, profile) in devices)
        {
            var record = new DeviceRecord
            {
                DeviceId = topic.DeviceId,
                Sector = Shared(topic.Sector),
                District = Shared(topic.District),
                Site = Shared(topic.Site),
                DeviceType = Shared(topic.DeviceType),
                Profile = Shared(profile),
                FirstSeen = now,
                LastSeen = now,
            };
            if (_devices.TryAdd(topic.DeviceId, EntryOf(record)))
            {
                JournalPut(topic.DeviceId);
                changed++;
                continue;
            }

            var entry = _devices[topic.DeviceId];
            var d = entry.Place;
            if (d.Sector != record.Sector || d.District != record.District || d.Site != record.Site || d.DeviceType != record.DeviceType || d.Profile != record.Profile)
            {
                entry.Replace(old => old with { Sector = record.Sector, District = record.District, Site = record.Site, DeviceType = record.DeviceType, Profile = record.Profile }, this);
                JournalPut(topic.DeviceId);
                changed++;
            }
        }

        if (changed > 0)
        {
            MakeJournalDurableNow();
            Interlocked.Exchange(ref _dirty, 1);
        }

        return changed;
    }
}

using System.Buffers;
using System.Text.Json;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Devices.Registry;

/// <summary>The registry file: written sorted and streamed (no copies of the records), read back at start.</summary>
public sealed partial class DeviceRegistry
{
    // Sorted by device id, so the file diffs well; the sort works on a pooled array of references,
    // not on copies of the records, and the writer is flushed every 64 KB rather than holding the file.
    private void WriteSorted(Stream stream)
    {
        var pool = ArrayPool<Entry>.Shared;
        var entries = pool.Rent(_devices.Count + 256);
        var count = 0;
        try
        {
            foreach (var pair in _devices)
            {
                if (count == entries.Length)
                {
                    var larger = pool.Rent(entries.Length * 2);
                    Array.Copy(entries, larger, count);
                    Array.Clear(entries, 0, count);
                    pool.Return(entries);
                    entries = larger;
                }

                entries[count++] = pair.Value;
            }

            Array.Sort(entries, 0, count, ById);
            using var writer = new Utf8JsonWriter(stream);
            writer.WriteStartArray();
            for (var i = 0; i < count; i++)
            {
                if (!entries[i].Registered)
                {
                    continue;
                }

                entries[i].Write(writer);
                StateFile.FlushWhenFull(writer);
            }

            writer.WriteEndArray();
            writer.Flush();
        }
        finally
        {
            Array.Clear(entries, 0, count);
            pool.Return(entries);
        }
    }

    private static void WriteNumber(Utf8JsonWriter w, JsonEncodedText name, double? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
        else
        {
            w.WriteNull(name);
        }
    }

    private static class Names
    {
        public static readonly JsonEncodedText DeviceId = JsonEncodedText.Encode("deviceId");
        public static readonly JsonEncodedText Sector = JsonEncodedText.Encode("sector");
        public static readonly JsonEncodedText District = JsonEncodedText.Encode("district");
        public static readonly JsonEncodedText Site = JsonEncodedText.Encode("site");
        public static readonly JsonEncodedText DeviceType = JsonEncodedText.Encode("deviceType");
        public static readonly JsonEncodedText Profile = JsonEncodedText.Encode("profile");
        public static readonly JsonEncodedText Firmware = JsonEncodedText.Encode("firmware");
        public static readonly JsonEncodedText Lat = JsonEncodedText.Encode("lat");
        public static readonly JsonEncodedText Lon = JsonEncodedText.Encode("lon");
        public static readonly JsonEncodedText Online = JsonEncodedText.Encode("online");
        public static readonly JsonEncodedText FirstSeen = JsonEncodedText.Encode("firstSeen");
        public static readonly JsonEncodedText LastSeen = JsonEncodedText.Encode("lastSeen");
        public static readonly JsonEncodedText LastBirth = JsonEncodedText.Encode("lastBirth");
        public static readonly JsonEncodedText WentOffline = JsonEncodedText.Encode("wentOffline");
    }

    /// <summary>A record as read (file or journal) as the registry keeps it: its names are the registry's shared placement.</summary>
    private Entry EntryOf(DeviceRecord d) => new(d, PlacementOf(d));

    /// <summary>The saved records (null when there is no file, or an unreadable one), read before the map is sized for them.</summary>
    private List<DeviceRecord>? Load()
    {
        var path = Path.GetFullPath(_options.File);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var file = File.OpenRead(path);
            return JsonSerializer.Deserialize<List<DeviceRecord>>(file, Json) ?? [];
        }
        catch (JsonException ex)
        {
            // A broken registry must not stop the city: devices re-register with their retained births.
            LogUnreadable(path, ex.Message);
            return null;
        }
    }

    private void Add(List<DeviceRecord>? saved)
    {
        if (saved is null)
        {
            return;
        }

        foreach (var d in saved)
        {
            _devices[d.DeviceId] = EntryOf(d);
        }

        LogLoaded(_devices.Count, FilePath);
    }
}

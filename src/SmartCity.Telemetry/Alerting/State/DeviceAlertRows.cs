using System.Buffers;
using System.Text.Json;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Alerting.State;

/// <summary>
/// The devices' liveness for a save written off the alert thread: each device's fields copied under the engine lock
/// into one pooled array of values, then written from it entry by entry. A copy of each <see cref="DeviceAlertState"/>
/// and a list of them (the way before) made 100,000 objects and about 10 MB of garbage per save in a city of that size,
/// kept alive, and so promoted by the GC, for as long as the file took to write. The file's bytes are the serializer's
/// of the list (<see cref="AlertStore.Load"/> reads it back as before).
/// </summary>
internal sealed class DeviceAlertRows : IDisposable
{
    private DeviceAlertRow[]? _rows;

    private DeviceAlertRows(DeviceAlertRow[] rows, int count)
    {
        _rows = rows;
        Count = count;
    }

    public int Count { get; }

    /// <summary>Copies <paramref name="devices"/> (called under the engine lock: a loop of value copies, no allocation once the pool holds an array).</summary>
    public static DeviceAlertRows Copy(IReadOnlyCollection<DeviceAlertState> devices)
    {
        var rows = ArrayPool<DeviceAlertRow>.Shared.Rent(Math.Max(1, devices.Count));
        var count = 0;
        foreach (var device in devices)
        {
            rows[count++] = device.Row();
        }

        return new DeviceAlertRows(rows, count);
    }

    /// <summary>
    /// The <c>alerts.devices.json</c> array, one device at a time, handed to the stream every 64 KB rather than held
    /// whole: the bytes <see cref="AlertStore.Json"/> writes for a list of <see cref="DeviceAlertState"/> (camelCase,
    /// nulls written), without the serializer's work per object (about 300 bytes allocated per device).
    /// </summary>
    public void Write(Stream stream)
    {
        var rows = _rows ?? throw new ObjectDisposedException(nameof(DeviceAlertRows));
        using var writer = new Utf8JsonWriter(stream);
        writer.WriteStartArray();
        for (var i = 0; i < Count; i++)
        {
            WriteRow(writer, rows[i]);
            StateFile.FlushWhenFull(writer);
        }

        writer.WriteEndArray();
        writer.Flush();
    }

    private static void WriteRow(Utf8JsonWriter w, in DeviceAlertRow row)
    {
        w.WriteStartObject();
        w.WriteStartObject(Names.Identity);
        w.WriteString(Names.DeviceId, row.Identity.DeviceId);
        w.WriteString(Names.Sector, row.Identity.Sector);
        w.WriteString(Names.District, row.Identity.District);
        w.WriteString(Names.Site, row.Identity.Site);
        w.WriteString(Names.DeviceType, row.Identity.DeviceType);
        w.WriteEndObject();
        w.WriteString(Names.ProfileId, row.ProfileId);
        WriteInstant(w, Names.LastReceivedAt, row.LastReceivedAt, row.LastReceivedAtOffset);
        WriteInstant(w, Names.LastTimestamp, row.LastTimestamp, row.LastTimestampOffset);
        WriteInstant(w, Names.LastLevelTimestamp, row.LastLevelTimestamp, row.LastLevelTimestampOffset);
        w.WriteString(Names.Parent, row.Parent);
        w.WriteEndObject();
    }

    private static void WriteInstant(Utf8JsonWriter w, JsonEncodedText name, long ticks, short offsetMinutes) =>
        StateFile.WriteInstant(w, name, PackedInstant.Unpack(ticks, offsetMinutes));

    // DeviceAlertState's and DeviceIdentity's property names as AlertStore.Json (camelCase) writes them, in declaration order.
    private static class Names
    {
        public static readonly JsonEncodedText Identity = JsonEncodedText.Encode("identity");
        public static readonly JsonEncodedText DeviceId = JsonEncodedText.Encode("deviceId");
        public static readonly JsonEncodedText Sector = JsonEncodedText.Encode("sector");
        public static readonly JsonEncodedText District = JsonEncodedText.Encode("district");
        public static readonly JsonEncodedText Site = JsonEncodedText.Encode("site");
        public static readonly JsonEncodedText DeviceType = JsonEncodedText.Encode("deviceType");
        public static readonly JsonEncodedText ProfileId = JsonEncodedText.Encode("profileId");
        public static readonly JsonEncodedText LastReceivedAt = JsonEncodedText.Encode("lastReceivedAt");
        public static readonly JsonEncodedText LastTimestamp = JsonEncodedText.Encode("lastTimestamp");
        public static readonly JsonEncodedText LastLevelTimestamp = JsonEncodedText.Encode("lastLevelTimestamp");
        public static readonly JsonEncodedText Parent = JsonEncodedText.Encode("parent");
    }

    /// <summary>The array goes back to the pool, cleared of its references (identities and names stay the engine's).</summary>
    public void Dispose()
    {
        if (_rows is { } rows)
        {
            _rows = null;
            Array.Clear(rows, 0, Count);
            ArrayPool<DeviceAlertRow>.Shared.Return(rows);
        }
    }
}

/// <summary>One device's saved fields as a value (56 bytes, no object): see <see cref="DeviceAlertRows"/>.</summary>
internal readonly record struct DeviceAlertRow(
    DeviceIdentity Identity,
    string ProfileId,
    string? Parent,
    long LastReceivedAt,
    long LastTimestamp,
    long LastLevelTimestamp,
    short LastReceivedAtOffset,
    short LastTimestampOffset,
    short LastLevelTimestampOffset);

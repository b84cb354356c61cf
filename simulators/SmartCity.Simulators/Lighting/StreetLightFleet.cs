using System.Buffers;
using System.Globalization;
using System.Text.Json;

namespace SmartCity.Simulators.Lighting;

/// <summary>One simulated street-light controller.</summary>
public sealed record StreetLight(string DeviceId, string District, string Site, double NominalWatts);

/// <summary>One message as it goes on the wire.</summary>
public readonly record struct SimulatedMessage(string Topic, byte[] Payload, string DeviceId, DateTimeOffset Timestamp);

/// <summary>
/// A fleet of street-light controllers that report telemetry following the device contract
/// (docs/device-contract.md). Message <c>k</c> is reading <c>k / N</c> of lamp <c>k % N</c>, so the
/// same seed, start and fleet give the same bytes, whatever the publishing concurrency.
/// </summary>
public sealed class StreetLightFleet
{
    private static readonly double[] Wattages = [30, 40, 60, 90];

    private readonly string _topicRoot;
    private readonly int _seed;

    public StreetLightFleet(int lamps, int districts, string topicRoot, int seed, DateTimeOffset start, TimeSpan interval)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lamps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(districts, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _topicRoot = topicRoot;
        _seed = seed;
        Start = start;
        Interval = interval;
        var random = new Random(seed);
        Lamps = Enumerable.Range(0, lamps).Select(i =>
        {
            var district = $"d{(i % districts) + 1:00}";
            // About 25 lamps per street (site) within a district.
            var site = $"{district}-street-{(i / districts / 25) + 1:000}";
            return new StreetLight($"lamp-{i + 1:000000}", district, site, Wattages[random.Next(Wattages.Length)]);
        }).ToArray();
    }

    public IReadOnlyList<StreetLight> Lamps { get; }

    /// <summary>Levels commanded by the city (worker's lighting control), by device id; the rest follow the sun.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, (bool On, double DimPct)> Commanded { get; } = new(StringComparer.Ordinal);

    public DateTimeOffset Start { get; }

    /// <summary>Reporting interval of each lamp, in device time.</summary>
    public TimeSpan Interval { get; }

    public static string TopicFor(string root, StreetLight lamp, string kind) =>
        $"{root}/lighting/{lamp.District}/{lamp.Site}/streetlight/{lamp.DeviceId}/{kind}";

    /// <summary>
    /// The retained birth message of a lamp (docs/device-contract.md, "Status"): the worker stores
    /// telemetry only from devices that announced themselves.
    /// </summary>
    public SimulatedMessage Birth(StreetLight lamp, DateTimeOffset now)
    {
        var index = int.Parse(lamp.DeviceId.AsSpan(5), CultureInfo.InvariantCulture);
        var ts = DateTimeOffset.FromUnixTimeMilliseconds(now.ToUnixTimeMilliseconds());
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", 1);
            json.WriteString("ts", ts.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteBoolean("online", true);
            json.WriteString("profile", "streetlight");
            json.WriteString("firmware", "2.4.1");
            // Lamps spread over a few kilometres around the city centre, deterministic per lamp.
            json.WriteNumber("lat", Math.Round(Latitude + (((index * 7919) % 1000) - 500) * 0.00004, 6));
            json.WriteNumber("lon", Math.Round(Longitude + (((index * 104729) % 1000) - 500) * 0.00006, 6));
            json.WriteString("district", lamp.District);
            json.WriteString("site", lamp.Site);
            json.WriteEndObject();
        }

        return new SimulatedMessage(TopicFor(_topicRoot, lamp, "status"), buffer.WrittenSpan.ToArray(), lamp.DeviceId, ts);
    }

    /// <summary>
    /// The device timestamp of message <paramref name="k"/> of a fleet of <paramref name="lamps"/> lamps: never
    /// earlier than message k - 1's, so a slice of messages covers a time range of its own (the bench counts by it).
    /// </summary>
    public static DateTimeOffset TimestampOf(DateTimeOffset start, TimeSpan interval, int lamps, long k)
    {
        // Lamps are staggered within the interval, as real controllers are, and their clocks tick in whole milliseconds.
        var offset = interval.Ticks * (k % lamps) / lamps;
        var ts = start.AddTicks((interval.Ticks * (k / lamps)) + offset);
        return DateTimeOffset.FromUnixTimeMilliseconds(ts.ToUnixTimeMilliseconds());
    }

    public SimulatedMessage Create(long k)
    {
        var lamp = Lamps[(int)(k % Lamps.Count)];
        var reading = k / Lamps.Count;
        var ts = TimestampOf(Start, Interval, Lamps.Count, k);
        var random = new Random(HashCode.Combine(_seed, k));

        var on = IsNight(ts);
        var dim = on ? (ts.UtcDateTime.Hour is >= 0 and < 5 ? 50.0 : 100.0) : 0.0;
        if (Commanded.TryGetValue(lamp.DeviceId, out var commanded))
        {
            // A lamp that followed a command (LampCommandResponder) burns as told, not by its own clock.
            (on, dim) = (commanded.On, commanded.On ? commanded.DimPct : 0);
        }

        var power = on ? Math.Round((lamp.NominalWatts * dim / 100.0) + (random.NextDouble() - 0.5), 2) : 0.0;
        var voltage = Math.Round(230 + ((random.NextDouble() - 0.5) * 6), 1);
        var hoursSinceStart = (ts - Start).TotalHours;
        var energy = Math.Round((lamp.NominalWatts * 0.6 * Math.Max(hoursSinceStart, 0) / 1000.0) + 1000, 4);

        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("v", 1);
            json.WriteString("ts", ts.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            json.WriteNumber("seq", reading);
            json.WriteBoolean("on", on);
            json.WriteNumber("dim_pct", dim);
            json.WriteNumber("power_w", Math.Max(power, 0));
            json.WriteNumber("energy_kwh", energy);
            json.WriteNumber("voltage_v", voltage);
            json.WriteNumber("current_a", Math.Round(Math.Max(power, 0) / voltage, 3));
            json.WriteNumber("power_factor", on ? 0.95 : 0);
            json.WriteNumber("burning_hours", Math.Round(10_000 + (Math.Max(hoursSinceStart, 0) * 0.5), 2));
            json.WriteStartArray("faults");
            json.WriteEndArray();
            json.WriteEndObject();
        }

        return new SimulatedMessage(TopicFor(_topicRoot, lamp, "telemetry"), buffer.WrittenSpan.ToArray(), lamp.DeviceId, ts);
    }

    /// <summary>Where this fleet stands (Utrecht): lamps burn from sunset to sunrise there.</summary>
    public const double Latitude = 52.0907;

    public const double Longitude = 5.1214;

    private static bool IsNight(DateTimeOffset ts) => !SmartCity.Common.SolarClock.IsSunUp(ts, Latitude, Longitude);
}

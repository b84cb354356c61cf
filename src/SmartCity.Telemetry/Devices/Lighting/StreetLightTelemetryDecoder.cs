using System.Buffers;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Devices.Lighting;

/// <summary>
/// Street-light controller telemetry, JSON v1 (docs/device-contract.md, "Street-light controller").
/// Ranges are physical limits of a 230 V street-light controller, wide enough for any real lamp and
/// narrow enough to catch unit mistakes (mW sent as W, Wh as kWh).
/// </summary>
public sealed class StreetLightTelemetryDecoder(IOptions<DecodingOptions> options) : IDeviceDecoder
{
    public const string Measurement = "street_light";

    /// <summary>Fault codes a controller may report, each stored as a boolean field <c>fault_{code}</c>.</summary>
    public static readonly IReadOnlyList<string> FaultCodes = ["lamp_failure", "driver_failure", "over_voltage", "under_voltage"];

    private readonly DecodingOptions _options = options.Value;

    public string DeviceType => "streetlight";

    public string Sector => "lighting";

    public MessageKind Kind => MessageKind.Telemetry;

    public DecodeResult Decode(in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt)
    {
        if (!JsonPayload.TryParse(payload, _options.MaxJsonDepth, out var json, out var document, out var rejection))
        {
            return rejection;
        }

        using (document)
        {
            return Decode(topic, json, receivedAt);
        }
    }

    private DecodeResult Decode(in DeviceTopic topic, JsonPayload json, DateTimeOffset receivedAt)
    {
        if (!json.TryGetInteger("v", 0, int.MaxValue, required: true, out var version, out var rejection))
        {
            return rejection;
        }

        if (version != 1)
        {
            return DecodeResult.Rejected(RejectReason.UnsupportedVersion, $"'v' {version} is not supported by streetlight telemetry (supported: 1)");
        }

        if (!json.TryGetTimestamp("ts", receivedAt, _options.MaxMessageAge, _options.MaxClockSkew, out var ts, out rejection)
            || !json.TryGetBoolean("on", required: true, out var on, out rejection)
            || !json.TryGetNumber("dim_pct", 0, 100, required: true, out var dim, out rejection)
            || !json.TryGetNumber("power_w", 0, 2_000, required: true, out var power, out rejection)
            || !json.TryGetNumber("energy_kwh", 0, 10_000_000, required: false, out var energy, out rejection)
            || !json.TryGetNumber("voltage_v", 0, 500, required: false, out var voltage, out rejection)
            || !json.TryGetNumber("current_a", 0, 50, required: false, out var current, out rejection)
            || !json.TryGetNumber("power_factor", 0, 1, required: false, out var powerFactor, out rejection)
            || !json.TryGetNumber("burning_hours", 0, 1_000_000, required: false, out var burningHours, out rejection)
            || !json.TryGetInteger("seq", 0, long.MaxValue, required: false, out var seq, out rejection)
            || !json.TryGetStringArray("faults", FaultCodes.Count, out var faults, out rejection))
        {
            return rejection;
        }

        foreach (var fault in faults)
        {
            if (!FaultCodes.Contains(fault))
            {
                return DecodeResult.Rejected(
                    RejectReason.OutOfRange,
                    $"'faults' contains unknown code \"{JsonPayload.Truncate(fault, 40)}\" (known: {string.Join(", ", FaultCodes)})");
            }
        }

        var point = new Point(Measurement, ts)
            .Tag("sector", topic.Sector)
            .Tag("district", topic.District)
            .Tag("site", topic.Site)
            .Tag("device_type", topic.DeviceType)
            .Tag("device_id", topic.DeviceId)
            .Field("on", on!.Value)
            .Field("dim_pct", dim!.Value)
            .Field("power_w", power!.Value);
        AddOptional(point, "energy_kwh", energy);
        AddOptional(point, "voltage_v", voltage);
        AddOptional(point, "current_a", current);
        AddOptional(point, "power_factor", powerFactor);
        AddOptional(point, "burning_hours", burningHours);
        if (seq is { } s)
        {
            point.Field("seq", s);
        }

        // Every fault flag is written on every point, so "lamps failing now" is a last() query, not a search for absences.
        foreach (var code in FaultCodes)
        {
            point.Field("fault_" + code, faults.Contains(code));
        }

        return DecodeResult.Accepted(point);
    }

    private static void AddOptional(Point point, string name, double? value)
    {
        if (value is { } v)
        {
            point.Field(name, v);
        }
    }
}

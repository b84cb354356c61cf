using System.Buffers;
using System.Buffers.Binary;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Devices.Plugins;

/// <summary>
/// Example plug-in: a compact binary frame from a low-power (LPWAN) lamp controller, 20 bytes,
/// little-endian, as such radios carry (every byte costs air time):
/// <code>
/// 0      1      2        3         4..11             12..13         14..15           16..19
/// ver=1  flags  dim (%)  reserved  time (Unix ms)    power (0.1 W)  voltage (0.1 V)  energy (Wh)
/// flags: bit 0 on, bit 1 lamp failure, bit 2 driver failure, bit 3 over-voltage, bit 4 under-voltage
/// </code>
/// It produces the same fields as the JSON street-light profile, so dashboards and alerts treat
/// both controllers alike.
/// </summary>
public sealed class CompactLampFrameDecoder : IPayloadDecoderPlugin
{
    public const int FrameLength = 20;

    private static readonly string[] Faults = ["lamp_failure", "driver_failure", "over_voltage", "under_voltage"];

    public string Name => "compact_lamp_frame_v1";

    public DecodeResult Decode(DeviceProfile profile, MessageSpec spec, in DeviceTopic topic, in ReadOnlySequence<byte> payload, DateTimeOffset receivedAt, DecodingOptions options)
    {
        if (payload.Length != FrameLength)
        {
            return DecodeResult.Rejected(RejectReason.MalformedJson, $"compact lamp frame must be {FrameLength} bytes, was {payload.Length}");
        }

        Span<byte> f = stackalloc byte[FrameLength];
        payload.CopyTo(f);
        if (f[0] != 1)
        {
            return DecodeResult.Rejected(RejectReason.UnsupportedVersion, $"compact lamp frame version {f[0]} is not supported (supported: 1)");
        }

        var flags = f[1];
        if ((flags & 0b1110_0000) != 0 || f[3] != 0)
        {
            return DecodeResult.Rejected(RejectReason.OutOfRange, "compact lamp frame has reserved bits set");
        }

        if (f[2] > 100)
        {
            return DecodeResult.Rejected(RejectReason.OutOfRange, $"dim level must be between 0 and 100, was {f[2]}");
        }

        var ms = BinaryPrimitives.ReadInt64LittleEndian(f[4..]);
        if (ms is < 0 or > 253_402_300_799_999)
        {
            return DecodeResult.Rejected(RejectReason.InvalidTimestamp, $"frame time {ms} is not Unix milliseconds");
        }

        var ts = DateTimeOffset.FromUnixTimeMilliseconds(ms);
        if (ts > receivedAt + options.MaxClockSkew || ts < receivedAt - options.MaxMessageAge)
        {
            return DecodeResult.Rejected(RejectReason.InvalidTimestamp, $"frame time {ts:O} is outside [{options.MaxMessageAge} back, {options.MaxClockSkew} ahead] of the worker's clock");
        }

        var power = BinaryPrimitives.ReadUInt16LittleEndian(f[12..]) / 10.0;
        var voltage = BinaryPrimitives.ReadUInt16LittleEndian(f[14..]) / 10.0;
        if (power > 2_000 || voltage > 500)
        {
            return DecodeResult.Rejected(RejectReason.OutOfRange, $"power {power} W or voltage {voltage} V out of range");
        }

        var point = Point.ForDevice(spec.Measurement, ts, topic)
            .Field("on", (flags & 1) != 0)
            .Field("dim_pct", (double)f[2])
            .Field("power_w", power)
            .Field("energy_kwh", BinaryPrimitives.ReadUInt32LittleEndian(f[16..]) / 1000.0)
            .Field("voltage_v", voltage);
        for (var i = 0; i < Faults.Length; i++)
        {
            point.Field("fault_" + Faults[i], (flags & (2 << i)) != 0);
        }

        return DecodeResult.Accepted(point);
    }

    /// <summary>Builds a frame (for simulators and tests).</summary>
    public static byte[] Encode(DateTimeOffset ts, bool on, byte dimPct, double powerW, double voltageV, double energyKwh, params string[] faults)
    {
        var f = new byte[FrameLength];
        f[0] = 1;
        f[1] = (byte)((on ? 1 : 0) | faults.Sum(code => 2 << Array.IndexOf(Faults, code)));
        f[2] = dimPct;
        BinaryPrimitives.WriteInt64LittleEndian(f.AsSpan(4), ts.ToUnixTimeMilliseconds());
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(12), (ushort)Math.Round(powerW * 10));
        BinaryPrimitives.WriteUInt16LittleEndian(f.AsSpan(14), (ushort)Math.Round(voltageV * 10));
        BinaryPrimitives.WriteUInt32LittleEndian(f.AsSpan(16), (uint)Math.Round(energyKwh * 1000));
        return f;
    }
}

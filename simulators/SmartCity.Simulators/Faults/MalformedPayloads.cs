using System.Text;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.Simulators.Faults;

/// <summary>
/// The ways a device payload breaks the contract, one per worker rejection reason, sent in turn by
/// a malformed_burst fault on the device's telemetry topic.
/// </summary>
public static class MalformedPayloads
{
    /// <summary>Variant names with the worker's rejection reason each is meant to produce (docs/device-contract.md, Rejections).</summary>
    public static readonly IReadOnlyList<(string Variant, string Reason)> Variants =
    [
        ("truncated_json", "MalformedJson"),
        ("binary_garbage", "MalformedJson"),
        ("wrong_type", "WrongType"),
        ("out_of_range", "OutOfRange"),
        ("missing_field", "MissingField"),
        ("nan_literal", "MalformedJson"),
        ("unsupported_version", "UnsupportedVersion"),
        ("timestamp_without_offset", "InvalidTimestamp"),
        ("not_an_object", "MalformedJson"),
    ];

    /// <summary>Variant <paramref name="k"/> (cycling) of a broken payload for <paramref name="model"/>'s device type.</summary>
    public static byte[] Create(DeviceModel model, int k, DateTimeOffset ts, PayloadWriter writer)
    {
        var tsText = ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        switch (Variants[k % Variants.Count].Variant)
        {
            case "truncated_json":
                return Encoding.UTF8.GetBytes($$"""{"v":1,"ts":"{{tsText}}","val""");
            case "binary_garbage":
                return [0x00, 0xFF, 0xFE, 0x7B, 0x01, 0x02, 0xC3, 0x28, 0x22];
            case "wrong_type":
                model.WriteWrongType(writer.Begin(ts));
                return writer.End();
            case "out_of_range":
                model.WriteOutOfRange(writer.Begin(ts));
                return writer.End();
            case "missing_field":
                writer.Begin(ts);
                return writer.End();
            case "nan_literal":
                return Encoding.UTF8.GetBytes($$"""{"v":1,"ts":"{{tsText}}","value":NaN}""");
            case "unsupported_version":
                var json = writer.BeginBare();
                json.WriteNumber("v", 99);
                writer.WriteTimestamp("ts", ts);
                model.WriteRequired(json);
                return writer.End();
            case "timestamp_without_offset":
                var bare = writer.BeginBare();
                bare.WriteNumber("v", 1);
                bare.WriteString("ts", tsText.TrimEnd('Z'));
                model.WriteRequired(bare);
                return writer.End();
            default:
                return "[1,2,3]"u8.ToArray();
        }
    }

    /// <summary>Queues a burst: <see cref="Fault.Count"/> payloads, 10 ms apart, from <paramref name="at"/> on (never past the tick).</summary>
    public static void Burst(DeviceModel model, DeviceCursor device, Fault fault, DateTimeOffset at, DateTimeOffset tick, PayloadWriter writer)
    {
        for (var k = 0; k < fault.Count; k++)
        {
            var ts = at + TimeSpan.FromMilliseconds(10 * k);
            if (ts > tick)
            {
                ts = tick;
            }

            device.Raw(Create(model, k, device.DeviceClock(ts), writer), ts, FaultKind.MalformedBurst);
        }
    }
}

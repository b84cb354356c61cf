using System.Text.Json;
using System.Text.RegularExpressions;
using SmartCity.Simulators.Devices;

namespace SmartCity.Simulators.Tests.Scenarios;

/// <summary>
/// docs/device-contract.md, "Other device types, v1" and "Status", as a checker: written from the
/// document's table, independently of the simulator, so the two cannot drift silently.
/// </summary>
internal static partial class ContractCheck
{
    private enum F { Bool, Number, Int, Enum }

    private sealed record Field(string Name, F Type, bool Required, double Min = double.MinValue, double Max = double.MaxValue, string[]? Values = null);

    private static readonly Dictionary<(string Type, string Kind), Field[]> Table = new()
    {
        [("streetlight", "telemetry")] = [new("on", F.Bool, true), new("dim_pct", F.Number, true, 0, 100), new("power_w", F.Number, true, 0, 2000), new("energy_kwh", F.Number, false, 0, 10_000_000), new("voltage_v", F.Number, false, 0, 500), new("current_a", F.Number, false, 0, 50), new("power_factor", F.Number, false, 0, 1), new("burning_hours", F.Number, false, 0, 1_000_000), new("seq", F.Int, false, 0)],
        [("lighting_cabinet", "telemetry")] = [new("mains_present", F.Bool, true), new("door_open", F.Bool, true), new("power_w", F.Number, false, 0, 100_000), new("energy_kwh", F.Number, false, 0), new("voltage_v", F.Number, false, 0, 500), new("circuits_on", F.Int, false, 0, 64), new("circuits_total", F.Int, false, 1, 64)],
        [("lighting_cabinet", "event")] = [new("event", F.Enum, true, Values: ["door_opened", "door_closed", "mains_lost", "mains_restored"])],
        [("classroom_env", "telemetry")] = [new("co2_ppm", F.Number, true, 0, 10_000), new("temperature_c", F.Number, true, -40, 85), new("humidity_pct", F.Number, false, 0, 100), new("occupancy", F.Int, false, 0, 500), new("noise_dba", F.Number, false, 0, 140), new("pm25_ugm3", F.Number, false, 0, 1000), new("battery_pct", F.Number, false, 0, 100)],
        [("door_contact", "telemetry")] = [new("open", F.Bool, true), new("tamper", F.Bool, false), new("battery_pct", F.Number, false, 0, 100)],
        [("door_contact", "event")] = [new("event", F.Enum, true, Values: ["opened", "closed", "forced", "held_open", "tamper"])],
        [("motion_detector", "telemetry")] = [new("motion", F.Bool, true), new("armed", F.Bool, false), new("tamper", F.Bool, false), new("battery_pct", F.Number, false, 0, 100)],
        [("motion_detector", "event")] = [new("event", F.Enum, true, Values: ["motion", "tamper"])],
        [("panic_button", "telemetry")] = [new("battery_pct", F.Number, true, 0, 100)],
        [("panic_button", "event")] = [new("event", F.Enum, true, Values: ["pressed"])],
        [("camera", "telemetry")] = [new("online", F.Bool, true), new("recording", F.Bool, true), new("storage_pct", F.Number, false, 0, 100), new("tamper", F.Bool, false), new("obstructed", F.Bool, false)],
        [("camera", "event")] = [new("event", F.Enum, true, Values: ["tamper", "obstructed", "video_loss", "video_restored"])],
        [("alarm_panel", "telemetry")] = [new("state", F.Enum, true, Values: ["disarmed", "armed_away", "armed_night", "alarm"])],
        [("alarm_panel", "event")] = [new("event", F.Enum, true, Values: ["armed", "disarmed", "alarm", "alarm_cleared"])],
    };

    private static readonly Dictionary<string, string> Sectors = new()
    {
        ["streetlight"] = "lighting", ["lighting_cabinet"] = "lighting", ["classroom_env"] = "education",
        ["door_contact"] = "security", ["motion_detector"] = "security", ["panic_button"] = "security", ["camera"] = "security", ["alarm_panel"] = "security",
    };

    [GeneratedRegex(@"^[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64})*/(lighting|education|security)/[A-Za-z0-9_.-]{1,64}/[A-Za-z0-9_.-]{1,64}/([A-Za-z0-9_.-]{1,64})/([A-Za-z0-9_.-]{1,64})/(telemetry|status|event)$")]
    private static partial Regex TopicPattern();

    [GeneratedRegex(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")]
    private static partial Regex Rfc3339();

    /// <summary>Null when the message follows the contract; otherwise what is wrong.</summary>
    public static string? Violation(ScenarioMessage m)
    {
        var topic = TopicPattern().Match(m.Topic);
        if (!topic.Success)
        {
            return $"topic {m.Topic}";
        }

        var segments = m.Topic.Split('/');
        var (sector, type, id, kind) = (segments[^6], segments[^3], segments[^2], segments[^1]);
        if (!Sectors.TryGetValue(type, out var expectedSector) || expectedSector != sector || id != m.DeviceId)
        {
            return $"topic {m.Topic}: type/sector/id";
        }

        JsonElement json;
        try
        {
            json = JsonDocument.Parse(m.Payload).RootElement;
        }
        catch (JsonException)
        {
            return "not JSON";
        }

        if (json.ValueKind != JsonValueKind.Object || !json.TryGetProperty("v", out var v) || v.ValueKind != JsonValueKind.Number || v.GetInt32() != 1)
        {
            return "envelope: v";
        }

        if (kind == "status")
        {
            if (!json.TryGetProperty("online", out var online) || online.ValueKind is not (JsonValueKind.True or JsonValueKind.False) || !m.Retain)
            {
                return "status: online, retained";
            }

            if (online.GetBoolean())
            {
                foreach (var f in new[] { "ts", "profile", "firmware", "lat", "lon", "district", "site" })
                {
                    if (!json.TryGetProperty(f, out _))
                    {
                        return $"birth: {f}";
                    }
                }

                if (json.GetProperty("profile").GetString() != type)
                {
                    return "birth: profile";
                }
            }

            return null;
        }

        if (!json.TryGetProperty("ts", out var ts) || ts.ValueKind != JsonValueKind.String || !Rfc3339().IsMatch(ts.GetString()!))
        {
            return "envelope: ts";
        }

        if (!Table.TryGetValue((type, kind), out var fields))
        {
            return $"no {kind} for {type}";
        }

        foreach (var f in fields)
        {
            if (!json.TryGetProperty(f.Name, out var value) || value.ValueKind == JsonValueKind.Null)
            {
                if (f.Required)
                {
                    return $"missing {f.Name}";
                }

                continue;
            }

            var ok = f.Type switch
            {
                F.Bool => value.ValueKind is JsonValueKind.True or JsonValueKind.False,
                F.Number => value.ValueKind == JsonValueKind.Number && value.GetDouble() >= f.Min && value.GetDouble() <= f.Max,
                F.Int => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var i) && i >= f.Min && i <= f.Max,
                _ => value.ValueKind == JsonValueKind.String && f.Values!.Contains(value.GetString()),
            };
            if (!ok)
            {
                return $"{f.Name} = {value}";
            }
        }

        return null;
    }
}

using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartCity.Simulators.Scenarios;

// The JSON shape of a scenario file (simulators/README.md documents it field by field).
// Plain DTOs: Scenario.Load checks them and turns them into a resolved Scenario.
#pragma warning disable CA1002, CA2227 // DTOs bound by System.Text.Json

public sealed class ScenarioFile
{
    public string? Name { get; set; }

    public string? Description { get; set; }

    public int Seed { get; set; } = 1;

    public string TopicRoot { get; set; } = "city";

    public CityFile? City { get; set; }

    /// <summary>District ids (topic segments), or a number N meaning d01..dNN.</summary>
    public JsonElement Districts { get; set; }

    public Dictionary<string, int> Devices { get; set; } = [];

    public TimeFile Time { get; set; } = new();

    /// <summary>Telemetry period per device type, in device time.</summary>
    public Dictionary<string, TimeSpan> Intervals { get; set; } = [];

    public LightingFile Lighting { get; set; } = new();

    public SchoolsFile Schools { get; set; } = new();

    public SecurityFile Security { get; set; } = new();

    public List<FaultFile> Faults { get; set; } = [];

    public List<ExpectedAlertFile> ExpectedAlerts { get; set; } = [];
}

public sealed class CityFile
{
    public string Name { get; set; } = "city";

    public double? Latitude { get; set; }

    public double? Longitude { get; set; }

    /// <summary>IANA time zone of the city (opening hours, timetables and dimming steps are local times).</summary>
    public string TimeZone { get; set; } = "UTC";
}

public sealed class TimeFile
{
    /// <summary>"auto" (default) or an RFC 3339 timestamp: the device time the scenario starts at.</summary>
    public string Start { get; set; } = "auto";

    public TimeSpan Duration { get; set; } = TimeSpan.FromDays(1);

    /// <summary>Simulated seconds per wall-clock second (720 = a day in two minutes).</summary>
    public double Acceleration { get; set; } = 1;
}

public sealed class LightingFile
{
    public List<DimStepFile> Dimming { get; set; } =
    [
        new() { At = "dusk", Level = 100 },
        new() { At = "00:00", Level = 50 },
        new() { At = "05:00", Level = 100 },
    ];

    /// <summary>Nominal wattages lamps are drawn from.</summary>
    public List<double> Wattages { get; set; } = [30, 40, 60, 90];

    /// <summary>Spread of switching moments around sunset and sunrise (each lamp its own, within +-this).</summary>
    public TimeSpan SwitchJitter { get; set; } = TimeSpan.FromSeconds(20);
}

public sealed class DimStepFile
{
    /// <summary>"dusk" or a local time "HH:mm".</summary>
    public string At { get; set; } = "dusk";

    public double Level { get; set; } = 100;
}

public sealed class SchoolsFile
{
    public int ClassroomsPerSchool { get; set; } = 12;

    public List<string> Days { get; set; } = ["Mon", "Tue", "Wed", "Thu", "Fri"];

    public List<TimeRangeFile> Lessons { get; set; } =
    [
        new() { From = "08:30", To = "10:00" },
        new() { From = "10:15", To = "11:45" },
        new() { From = "12:30", To = "14:00" },
        new() { From = "14:15", To = "15:30" },
    ];

    public List<DateRangeFile> Holidays { get; set; } = [];

    /// <summary>Chance that a classroom is used in a given lesson.</summary>
    public double Occupancy { get; set; } = 0.85;

    public List<int> ClassSize { get; set; } = [20, 30];

    public TimeRangeFile VentilationHours { get; set; } = new() { From = "07:30", To = "16:30" };

    public double AirChangesPerHour { get; set; } = 3.0;

    public double AirChangesPerHourOff { get; set; } = 0.4;

    public double RoomVolumeM3 { get; set; } = 180;
}

public sealed class SecurityFile
{
    /// <summary>Buildings the security devices are spread over; 0 = one per alarm panel.</summary>
    public int Buildings { get; set; }

    public List<OpeningHoursFile> OpeningHours { get; set; } =
    [
        new() { Days = ["Mon", "Tue", "Wed", "Thu", "Fri"], From = "08:00", To = "18:00" },
        new() { Days = ["Sat"], From = "10:00", To = "14:00" },
    ];

    /// <summary>The panel arms this long after closing time.</summary>
    public TimeSpan ArmDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The panel is disarmed this long before opening time.</summary>
    public TimeSpan DisarmLead { get; set; } = TimeSpan.FromMinutes(30);

    public double DoorPassagesPerHour { get; set; } = 12;

    public double MotionPerMinuteOpen { get; set; } = 0.5;

    public TimeSpan AlarmDuration { get; set; } = TimeSpan.FromMinutes(10);
}

public sealed class TimeRangeFile
{
    public string From { get; set; } = "00:00";

    public string To { get; set; } = "00:00";
}

public sealed class OpeningHoursFile
{
    public List<string> Days { get; set; } = [];

    public string From { get; set; } = "08:00";

    public string To { get; set; } = "18:00";
}

public sealed class DateRangeFile
{
    public DateOnly From { get; set; }

    public DateOnly To { get; set; }
}

public sealed class FaultFile
{
    public string? Id { get; set; }

    public string? Kind { get; set; }

    public string? Device { get; set; }

    /// <summary>Offset from the scenario start ("20:30" = 20 h 30 min; "1.02:00" = a day and 2 h).</summary>
    public TimeSpan At { get; set; }

    /// <summary>How long it lasts; absent = until the end of the run.</summary>
    public TimeSpan? Duration { get; set; }

    /// <summary>malformed_burst: how many bad payloads (default 20).</summary>
    public int? Count { get; set; }

    /// <summary>clock_skew: the device clock's offset (may be negative, "-01:00:00").</summary>
    public TimeSpan? Skew { get; set; }

    /// <summary>co2_spike: the CO2 level reached (default 4500 ppm).</summary>
    public double? Ppm { get; set; }
}

public sealed class ExpectedAlertFile
{
    public string? Rule { get; set; }

    public string? Device { get; set; }

    /// <summary>Offset from the scenario start at which the alert should be raised, at the earliest.</summary>
    public TimeSpan At { get; set; }

    /// <summary>How long after <see cref="At"/> the alert may still come (default 15 min).</summary>
    public TimeSpan Within { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The id of the fault that causes it.</summary>
    public string? Fault { get; set; }
}

/// <summary>
/// TimeSpans in scenario files: "20:30" (hours:minutes), "00:05:00", "1.02:00:00", "-00:10:00",
/// or ISO 8601 durations ("PT5M"); System.Text.Json alone only takes the "c" format.
/// </summary>
public sealed class FlexibleTimeSpanConverter : JsonConverter<TimeSpan>
{
    public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return TimeSpan.FromSeconds(reader.GetDouble());
        }

        var text = reader.GetString() ?? throw new JsonException("expected a duration");
        return Parse(text);
    }

    public static TimeSpan Parse(string text)
    {
        text = text.Trim();
        if (text.StartsWith('P') || text.StartsWith("-P", StringComparison.Ordinal))
        {
            try
            {
                return System.Xml.XmlConvert.ToTimeSpan(text);
            }
            catch (FormatException)
            {
                throw new JsonException($"'{text}' is not an ISO 8601 duration");
            }
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new JsonException($"'{text}' is not a duration (use \"hh:mm\", \"hh:mm:ss\", \"d.hh:mm:ss\" or ISO 8601 \"PT5M\")");
    }

    public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
        writer.WriteStringValue(value.ToString("c", CultureInfo.InvariantCulture));
}

public static class ScenarioJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        Converters = { new FlexibleTimeSpanConverter() },
    };
}

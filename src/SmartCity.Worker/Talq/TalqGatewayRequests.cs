using System.Globalization;
using SmartCity.Telemetry.Lighting;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Worker.Talq;

/// <summary>
/// Our lighting model in TALQ 2.7.1 terms (the gateway API's bodies), as plain JSON-shaped objects:
/// a schedule becomes a ControlProgramOne (astronomical active period with the on/off offsets in
/// minutes, fixed time controls for the dim steps) plus one program per exception date, and a Calendar
/// whose date rules pick the exception programs before the schedule's own; a lamp command becomes an
/// OverrideCommand; what the streetlight profile stores becomes a periodic LoggerConfig.
/// </summary>
public static class TalqGatewayRequests
{
    /// <summary>The attributes our CMS stores (TalqAttributes), per TALQ function type.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> LoggedAttributes = new Dictionary<string, string[]>
    {
        ["LampActuatorFunction"] = ["actualLightState"],
        ["LampMonitorFunction"] = ["activePower", "activeEnergy", "operatingHours", "supplyVoltage", "supplyCurrent", "powerFactor", "lampFailure"],
    };

    public static string ProgramId(LightingSchedule schedule, DateOnly? exception = null) =>
        exception is { } date ? $"{schedule.Id}-{date:yyyyMMdd}" : schedule.Id;

    public static object[] ControlPrograms(LightingSchedule schedule, string ownerCms) =>
        [
            Program(ProgramId(schedule), ownerCms, schedule, schedule.OnLevel, schedule.Steps),
            .. schedule.Exceptions.Select(e => Program(ProgramId(schedule, e.Date), ownerCms, schedule, e.OnLevel ?? schedule.OnLevel, e.Steps ?? schedule.Steps)),
        ];

    public static object Calendar(LightingSchedule schedule, string ownerCms) => new
    {
        id = schedule.Id,
        ownerCMS = ownerCms,
        // Order is priority: the exception dates first, then every day of the year.
        rules = schedule.Exceptions
            .Select(e => (object)new { startDate = Date(e.Date), endDate = Date(e.Date), program = ProgramId(schedule, e.Date) })
            .Append(new { startDate = "--01-01", endDate = "--12-31", program = ProgramId(schedule) })
            .ToArray(),
    };

    public static object Override(LampCommand command, Guid device) => new
    {
        addresses = new[] { new { resource = "/devices", address = device.ToString("D") } },
        targetCommand = new
        {
            state = Level(command.On ? command.DimPct : 0),
            reason = "override",
            cmsRefId = command.CommandId,
        },
    };

    public static object LoggerConfig(string address, string ownerCms, DateTimeOffset start, TimeSpan period) => new
    {
        address,
        ownerCMS = ownerCms,
        sourceAddresses = new { blackList = Array.Empty<object>() }, // a black list alone, even empty: every device of the gateway
        recordingMode = new
        {
            type = "PeriodicRecordingMode",
            content = LoggedAttributes.Select(f => new
            {
                attributeScope = "measurement",
                function = new { functionType = f.Key, attributes = f.Value.Select(a => new { name = a }).ToArray() },
            }).ToArray(),
            samplingProfiles = new[] { new { samplingStartTime = start.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture), samplingPeriod = Duration(period) } },
        },
        reportingMode = new { type = "ImmediateReportingMode", delay = 0 },
    };

    private static object Program(string id, string ownerCms, LightingSchedule schedule, double onLevel, List<DimStep> steps) => new
    {
        type = "ControlProgramOne",
        id,
        ownerCMS = ownerCms,
        activePeriods = new[] { new { name = "AstroClockActivePeriod", sunsetOffset = (int)schedule.OnOffset.TotalMinutes, sunriseOffset = (int)schedule.OffOffset.TotalMinutes } },
        // The on level from noon (before any switch-on), then each step at its local time.
        fixedTimeControls = steps.Select(s => (At: s.At, Level: s.DimPct)).Prepend((At: new TimeOnly(12, 0), Level: onLevel))
            .Select(s => new { startTime = s.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture), command = new { state = Level(s.Level) } })
            .ToArray(),
    };

    private static object Level(double pct) => new { name = "LevelState", value = (int)Math.Round(Math.Clamp(pct, 0, 100)) };

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan period) => $"PT{(int)period.TotalSeconds}S";
}

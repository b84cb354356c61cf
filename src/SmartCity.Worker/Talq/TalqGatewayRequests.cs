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
        // Mandatory in the lighting profile (data model, Calendar.defaultProgram): the schedule's own program when no rule matches.
        defaultProgram = ProgramId(schedule),
        // Order is priority: the exception dates first, then every day of the year.
        rules = schedule.Exceptions
            .Select(e => (object)new { startDate = Date(e.Date), endDate = Date(e.Date), program = ProgramId(schedule, e.Date) })
            .Append(new { startDate = "--01-01", endDate = "--12-31", program = ProgramId(schedule) })
            .ToArray(),
    };

    /// <summary>
    /// The lamp's override; with <see cref="LampCommand.Until"/> (its schedule's next step) as the expiration, after which
    /// the gateway goes back to the lamp's calendar (data model, Command.expiration), as an MQTT lamp takes the next step.
    /// </summary>
    public static object Override(LampCommand command, Guid device) => new
    {
        addresses = new[] { new { resource = "/devices", address = device.ToString("D") } },
        targetCommand = command.Until is { } until
            ? new { state = Level(command.On ? command.DimPct : 0), reason = "override", cmsRefId = command.CommandId, expiration = Instant(until) }
            : (object)new { state = Level(command.On ? command.DimPct : 0), reason = "override", cmsRefId = command.CommandId },
    };

    /// <summary>
    /// An AssignCommand giving <paramref name="devices"/> the calendar <paramref name="calendarId"/> (null: taking theirs away,
    /// the data model's <c>entity: { resource: 'calendars', address: '' }</c>). Each device is addressed whole: "when the
    /// function is not explicitly referred to, all functions of the referenced device related to the entity assigned are
    /// changed" (data model, AssignCommand), i.e. its lamp actuator functions, whatever ids the gateway gave them.
    /// </summary>
    public static object Assign(IEnumerable<Guid> devices, string? calendarId) => new
    {
        addresses = devices.Select(d => new { resource = "devices", address = d.ToString("D") }).ToArray(),
        entity = new { resource = "calendars", address = calendarId ?? "" },
        cmsRefId = calendarId is null ? "unassign" : $"schedule:{calendarId}",
    };

    /// <summary>
    /// A schedule offset in the unit of AstroClockActivePeriod's sunsetOffset and sunriseOffset: whole minutes
    /// (talq-data-model-2-7-1-online.json#/components/schemas/AstroClockActivePeriod/allOf/1/properties/sunsetOffset:
    /// "Offset in minutes to apply to the calculated sunset time", type integer), to the nearest minute.
    /// </summary>
    public static int OffsetMinutes(TimeSpan offset) => (int)Math.Round(offset.TotalMinutes, MidpointRounding.AwayFromZero);

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
            samplingProfiles = new[] { new { samplingStartTime = Instant(start), samplingPeriod = Duration(period) } },
        },
        reportingMode = new { type = "ImmediateReportingMode", delay = 0 },
    };

    private static object Program(string id, string ownerCms, LightingSchedule schedule, double onLevel, List<DimStep> steps) => new
    {
        type = "ControlProgramOne",
        id,
        ownerCMS = ownerCms,
        activePeriods = new[] { new { name = "AstroClockActivePeriod", sunsetOffset = OffsetMinutes(schedule.OnOffset), sunriseOffset = OffsetMinutes(schedule.OffOffset) } },
        // The on level from noon (before any switch-on), then each step at its local time.
        fixedTimeControls = steps.Select(s => (At: s.At, Level: s.DimPct)).Prepend((At: new TimeOnly(12, 0), Level: onLevel))
            .Select(s => new { startTime = s.At.ToString("HH:mm:ss", CultureInfo.InvariantCulture), command = new { state = Level(s.Level) } })
            .ToArray(),
    };

    private static object Level(double pct) => new { name = "LevelState", value = (int)Math.Round(Math.Clamp(pct, 0, 100)) };

    private static string Instant(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private static string Date(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Duration(TimeSpan period) => $"PT{(int)period.TotalSeconds}S";
}

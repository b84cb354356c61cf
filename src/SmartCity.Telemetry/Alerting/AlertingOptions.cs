using System.ComponentModel.DataAnnotations;

namespace SmartCity.Telemetry.Alerting;

/// <summary>
/// The alerting stage: where the city is (for night and day), its school and opening hours, and
/// how alerts escalate, settle and persist. Validated at start; every message names its setting.
/// </summary>
public sealed class AlertingOptions : IValidatableObject
{
    public const string SectionName = "Alerting";

    /// <summary>Latitude of the city, degrees north, for sunrise and sunset (night and day rules).</summary>
    /// <value>The default value is 52.0907 (Utrecht, the demo city).</value>
    [Range(-90.0, 90.0, ErrorMessage = "Latitude must be between -90 and 90 degrees.")]
    public double Latitude { get; set; } = AlertingDefaults.Latitude;

    /// <summary>Longitude of the city, degrees east.</summary>
    /// <value>The default value is 5.1214 (Utrecht).</value>
    [Range(-180.0, 180.0, ErrorMessage = "Longitude must be between -180 and 180 degrees.")]
    public double Longitude { get; set; } = AlertingDefaults.Longitude;

    /// <summary>IANA time zone of the city (school and opening hours are local times).</summary>
    /// <value>The default value is <c>Europe/Amsterdam</c>.</value>
    [Required(ErrorMessage = "TimeZone is required (an IANA id such as Europe/Amsterdam).")]
    public string TimeZone { get; set; } = AlertingDefaults.TimeZone;

    /// <summary>When schools are in session (<c>school_hours</c> rules).</summary>
    public SchoolHoursOptions SchoolHours { get; set; } = new();

    /// <summary>When secured buildings are open; <c>closed_hours</c> rules apply outside these.</summary>
    public OpeningHoursOptions OpeningHours { get; set; } = new();

    /// <summary>A critical alert nobody acknowledged within this time is escalated (once).</summary>
    /// <value>The default value is 15 minutes.</value>
    public TimeSpan EscalateCriticalAfter { get; set; } = AlertingDefaults.EscalateCriticalAfter;

    /// <summary>Silence after which a device counts as offline, in profile <c>expectedInterval</c>s.</summary>
    /// <value>The default value is 3.</value>
    [Range(1, 100, ErrorMessage = "OfflineAfterIntervals must be between 1 and 100.")]
    public int OfflineAfterIntervals { get; set; } = AlertingDefaults.OfflineAfterIntervals;

    /// <summary>
    /// How long the last will of a device with a parent waits before it raises <c>device_offline</c>,
    /// so that the parent's own alert (a cabinet's mains loss) can arrive first and group it.
    /// </summary>
    /// <value>The default value is 30 seconds.</value>
    public TimeSpan GroupHoldDown { get; set; } = AlertingDefaults.GroupHoldDown;

    /// <summary>When a rule raises and resolves too often, notifications pause until it settles.</summary>
    public FlappingOptions Flapping { get; set; } = new();

    /// <summary>Where open alerts, their history and rule state are kept across restarts.</summary>
    /// <value>The default value is <c>data/alerts.json</c>.</value>
    [Required(ErrorMessage = "StateFile is required.")]
    public string StateFile { get; set; } = AlertingDefaults.StateFile;

    /// <summary>
    /// How long a change to the alerts may wait before the state file is written: every change
    /// within this time goes into one save (written off the alert thread), so a burst of
    /// transitions costs one write instead of one per transition. Meanwhile the transitions are in
    /// the state file's journal, durable before the readings that caused them are acknowledged, so
    /// a crash loses no alert (only the rules' pending conditions and the devices' liveness, which
    /// are not journaled); a graceful stop always saves the latest state.
    /// </summary>
    /// <value>The default value is 1 second.</value>
    public TimeSpan StateSaveDelay { get; set; } = AlertingDefaults.StateSaveDelay;

    /// <summary>
    /// Resolved alerts stay in the state file (and the API) this long; then they are forgotten and
    /// their retained MQTT state (<c>smartcity/alerts/...</c>) is cleared.
    /// </summary>
    /// <value>The default value is 7 days.</value>
    public TimeSpan KeepResolvedFor { get; set; } = AlertingDefaults.KeepResolvedFor;

    /// <summary>
    /// How long the alert loop lets device readings gather before it runs them through the engine,
    /// once one arrived: at a city's paced rates it used to wake a thread for every single reading
    /// (2,000 wake-ups a second at 2,000 msg/s, docs/performance.md); with the window it wakes about
    /// twice per window. Readings are acknowledged and stored independently of this; only alerts
    /// from readings come up to this much later. Operator requests, births, last wills and the
    /// offline timer end the window at once, and so does a quarter-full queue. 0: no window.
    /// </summary>
    /// <value>The default value is 20 milliseconds.</value>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:01", ErrorMessage = "ObserveBatchWindow must be between 0 and 1 second.")]
    public TimeSpan ObserveBatchWindow { get; set; } = AlertingDefaults.ObserveBatchWindow;

    /// <summary>The city rules file: per-district, site or device overrides of profile rules.</summary>
    /// <value>The default value is none: the profiles' rules as shipped.</value>
    public string? RulesFile { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!string.IsNullOrWhiteSpace(TimeZone) && !TryFindTimeZone(TimeZone, out _))
        {
            yield return new($"TimeZone '{TimeZone}' is not a known IANA time zone id (such as Europe/Amsterdam).", [nameof(TimeZone)]);
        }

        if (EscalateCriticalAfter <= TimeSpan.Zero)
        {
            yield return new("EscalateCriticalAfter must be positive (such as 00:15:00).", [nameof(EscalateCriticalAfter)]);
        }

        if (GroupHoldDown < TimeSpan.Zero || GroupHoldDown > TimeSpan.FromHours(1))
        {
            yield return new("GroupHoldDown must be between 00:00:00 and 01:00:00.", [nameof(GroupHoldDown)]);
        }

        if (StateSaveDelay <= TimeSpan.Zero || StateSaveDelay > TimeSpan.FromMinutes(1))
        {
            yield return new("StateSaveDelay must be more than 00:00:00 and at most 00:01:00 (a crash loses at most this much alert state).", [nameof(StateSaveDelay)]);
        }

        if (KeepResolvedFor < TimeSpan.Zero)
        {
            yield return new("KeepResolvedFor must not be negative.", [nameof(KeepResolvedFor)]);
        }

        if (RulesFile is not null && string.IsNullOrWhiteSpace(RulesFile))
        {
            yield return new("RulesFile must be a path, or left out.", [nameof(RulesFile)]);
        }

        // DataAnnotations do not descend into nested objects: their checks are named here with the full key.
        foreach (var r in SchoolHours.Check())
        {
            yield return new(r.Message, [$"{nameof(SchoolHours)}:{r.Member}"]);
        }

        foreach (var r in OpeningHours.Check())
        {
            yield return new(r.Message, [$"{nameof(OpeningHours)}:{r.Member}"]);
        }

        if (Flapping.MaxTransitions < 2)
        {
            yield return new("Flapping:MaxTransitions must be at least 2 (a raise and its resolve).", [$"{nameof(Flapping)}:{nameof(FlappingOptions.MaxTransitions)}"]);
        }

        if (Flapping.Window <= TimeSpan.Zero)
        {
            yield return new("Flapping:Window must be positive.", [$"{nameof(Flapping)}:{nameof(FlappingOptions.Window)}"]);
        }
    }

    internal static bool TryFindTimeZone(string id, out TimeZoneInfo zone)
    {
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            zone = TimeZoneInfo.Utc;
            return false;
        }
    }
}

/// <summary>School days and hours (local time), and the days schools are closed.</summary>
public sealed class SchoolHoursOptions
{
    /// <value>The default value is 08:30.</value>
    public TimeOnly Start { get; set; } = new(8, 30);

    /// <value>The default value is 15:30.</value>
    public TimeOnly End { get; set; } = new(15, 30);

    /// <summary>School days. Nullable because the configuration binder appends to a pre-filled list.</summary>
    /// <value>The default value is Monday to Friday.</value>
    public List<DayOfWeek>? Days { get; set; }

    /// <summary>Single days without school (public holidays, study days).</summary>
    public List<DateOnly> Holidays { get; set; } = [];

    /// <summary>School holidays as inclusive date ranges (a whole Christmas break in one entry).</summary>
    public List<DatePeriod> HolidayPeriods { get; set; } = [];

    internal IReadOnlyCollection<DayOfWeek> EffectiveDays => Days ?? AlertingDefaults.Weekdays;

    internal bool IsHoliday(DateOnly date) =>
        Holidays.Contains(date) || HolidayPeriods.Any(p => p.From <= date && date <= p.To);

    internal IEnumerable<(string Member, string Message)> Check()
    {
        if (End <= Start)
        {
            yield return (nameof(End), "SchoolHours:End must be after SchoolHours:Start.");
        }

        for (var i = 0; i < HolidayPeriods.Count; i++)
        {
            if (HolidayPeriods[i].To < HolidayPeriods[i].From)
            {
                yield return ($"{nameof(HolidayPeriods)}:{i}", $"SchoolHours:HolidayPeriods:{i}: To must not be before From.");
            }
        }
    }
}

/// <summary>An inclusive range of dates.</summary>
public sealed class DatePeriod
{
    public DateOnly From { get; set; }

    public DateOnly To { get; set; }
}

/// <summary>Opening hours of secured buildings (local time); <c>closed_hours</c> is the rest of the week.</summary>
public sealed class OpeningHoursOptions
{
    /// <value>The default value is 08:00.</value>
    public TimeOnly Start { get; set; } = new(8, 0);

    /// <value>The default value is 18:00.</value>
    public TimeOnly End { get; set; } = new(18, 0);

    /// <summary>Days the buildings open. Nullable for the same binder reason as school days.</summary>
    /// <value>The default value is Monday to Friday.</value>
    public List<DayOfWeek>? Days { get; set; }

    internal IReadOnlyCollection<DayOfWeek> EffectiveDays => Days ?? AlertingDefaults.Weekdays;

    /// <summary>
    /// More opening windows on other days or hours (Saturday 10:00-14:00), each with its own
    /// <c>Days</c>, <c>Start</c> and <c>End</c>; the buildings are open when any window says so.
    /// </summary>
    public List<OpeningWindow> Extra { get; set; } = [];

    internal bool IsOpen(DayOfWeek day, TimeOnly time) =>
        (EffectiveDays.Contains(day) && time >= Start && time < End)
        || Extra.Any(w => w.Days.Contains(day) && time >= w.Start && time < w.End);

    internal IEnumerable<(string Member, string Message)> Check()
    {
        if (End <= Start)
        {
            yield return (nameof(End), "OpeningHours:End must be after OpeningHours:Start.");
        }

        for (var i = 0; i < Extra.Count; i++)
        {
            if (Extra[i].End <= Extra[i].Start)
            {
                yield return ($"{nameof(Extra)}:{i}:{nameof(OpeningWindow.End)}", $"OpeningHours:Extra:{i}:End must be after its Start.");
            }

            if (Extra[i].Days.Count == 0)
            {
                yield return ($"{nameof(Extra)}:{i}:{nameof(OpeningWindow.Days)}", $"OpeningHours:Extra:{i}:Days must name at least one day.");
            }
        }
    }
}

/// <summary>One more opening window: <c>Days</c> from <c>Start</c> to <c>End</c> (local time).</summary>
public sealed class OpeningWindow
{
    public List<DayOfWeek> Days { get; set; } = [];

    public TimeOnly Start { get; set; }

    public TimeOnly End { get; set; }
}

/// <summary>Flapping: more than <see cref="MaxTransitions"/> raises and resolves of one rule on one device within <see cref="Window"/>.</summary>
public sealed class FlappingOptions
{
    /// <value>The default value is 6 (three raise/resolve cycles).</value>
    public int MaxTransitions { get; set; } = AlertingDefaults.FlappingMaxTransitions;

    /// <summary>The window counted, and also how long a flapping rule must stay quiet to count as settled.</summary>
    /// <value>The default value is 1 hour.</value>
    public TimeSpan Window { get; set; } = AlertingDefaults.FlappingWindow;
}

/// <summary>Defaults of <see cref="AlertingOptions"/>, in one place for the docs and the tests.</summary>
public static class AlertingDefaults
{
    public const double Latitude = 52.0907;
    public const double Longitude = 5.1214;
    public const string TimeZone = "Europe/Amsterdam";
    public const string StateFile = "data/alerts.json";
    public const int OfflineAfterIntervals = 3;
    public const int FlappingMaxTransitions = 6;
    public static readonly TimeSpan EscalateCriticalAfter = TimeSpan.FromMinutes(15);
    public static readonly TimeSpan FlappingWindow = TimeSpan.FromHours(1);
    public static readonly TimeSpan GroupHoldDown = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan KeepResolvedFor = TimeSpan.FromDays(7);
    public static readonly TimeSpan StateSaveDelay = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan ObserveBatchWindow = TimeSpan.FromMilliseconds(20);
    public static readonly IReadOnlyCollection<DayOfWeek> Weekdays =
        [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];
}

using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using SmartCity.Simulators.Devices;
using SmartCity.Simulators.Faults;

namespace SmartCity.Simulators.Scenarios;

/// <summary>A scenario file that cannot be used; <see cref="Errors"/> lists every problem at once.</summary>
public sealed class ScenarioException(string source, IReadOnlyList<string> errors)
    : Exception($"scenario {source} is invalid:\n  - " + string.Join("\n  - ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

public readonly record struct DimStep(bool AtDusk, TimeOnly At, double Level);

public readonly record struct LocalTimeRange(TimeOnly From, TimeOnly To)
{
    public bool Contains(TimeOnly t) => From <= To ? t >= From && t < To : t >= From || t < To;
}

public sealed record OpeningHours(IReadOnlySet<DayOfWeek> Days, TimeOnly From, TimeOnly To);

public sealed record LightingSettings(IReadOnlyList<DimStep> Dimming, IReadOnlyList<double> Wattages, TimeSpan SwitchJitter);

public sealed record SchoolSettings(
    int ClassroomsPerSchool,
    IReadOnlySet<DayOfWeek> Days,
    IReadOnlyList<LocalTimeRange> Lessons,
    IReadOnlyList<(DateOnly From, DateOnly To)> Holidays,
    double Occupancy,
    int ClassSizeMin,
    int ClassSizeMax,
    LocalTimeRange VentilationHours,
    double AirChangesPerHour,
    double AirChangesPerHourOff,
    double RoomVolumeM3)
{
    public bool IsSchoolDay(DateOnly date) =>
        Days.Contains(date.DayOfWeek) && !Holidays.Any(h => date >= h.From && date <= h.To);
}

public sealed record SecuritySettings(
    int Buildings,
    IReadOnlyList<OpeningHours> OpeningHours,
    TimeSpan ArmDelay,
    TimeSpan DisarmLead,
    double DoorPassagesPerHour,
    double MotionPerMinuteOpen,
    TimeSpan AlarmDuration);

/// <summary>A scheduled fault, resolved to its device. Times are offsets from the scenario start.</summary>
public sealed record Fault(string Id, FaultKind Kind, DeviceType DeviceType, int DeviceIndex, string DeviceId, TimeSpan At, TimeSpan? Duration, int Count, TimeSpan Skew, double Ppm)
{
    public TimeSpan End => Duration is { } d ? At + d : TimeSpan.MaxValue;

    public bool IsActive(TimeSpan offset) => offset >= At && offset < End;
}

/// <summary>An alert the scenario should cause: rule id, device, and from when (offset from the start) within what window.</summary>
public sealed record ExpectedAlert(string Rule, string Device, TimeSpan At, TimeSpan Within, string? Fault);

/// <summary>
/// A checked scenario (see simulators/README.md for the file format). Immutable; command-line
/// overrides make a copy with <c>with</c>.
/// </summary>
public sealed partial record Scenario
{
    public required string Name { get; init; }

    public string Description { get; init; } = "";

    public int Seed { get; init; } = 1;

    public string TopicRoot { get; init; } = "city";

    public string CityName { get; init; } = "city";

    public double Latitude { get; init; }

    public double Longitude { get; init; }

    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;

    public required IReadOnlyList<string> Districts { get; init; }

    public required IReadOnlyDictionary<DeviceType, int> Counts { get; init; }

    /// <summary>Null = "auto": the latest local midnight such that the whole run lies in the past (see <see cref="ResolveStart"/>).</summary>
    public DateTimeOffset? Start { get; init; }

    public TimeSpan Duration { get; init; } = TimeSpan.FromDays(1);

    public double Acceleration { get; init; } = 1;

    public required IReadOnlyDictionary<DeviceType, TimeSpan> Intervals { get; init; }

    public required LightingSettings Lighting { get; init; }

    public required SchoolSettings Schools { get; init; }

    public required SecuritySettings Security { get; init; }

    public IReadOnlyList<Fault> Faults { get; init; } = [];

    public IReadOnlyList<ExpectedAlert> ExpectedAlerts { get; init; } = [];

    public int Count(DeviceType type) => Counts.TryGetValue(type, out var n) ? n : 0;

    public int TotalDevices => Counts.Values.Sum();

    /// <summary>
    /// The device time of the first reading. "auto" = the latest local midnight M such that
    /// M + Duration is not after <paramref name="now"/>: accelerated or not, no device timestamp
    /// then runs ahead of the wall clock (the worker rejects those more than 5 min ahead), and
    /// fault offsets read as local times of day ("20:30" = 20:30 on the first day).
    /// </summary>
    public DateTimeOffset ResolveStart(DateTimeOffset now)
    {
        if (Start is { } explicitStart)
        {
            return explicitStart;
        }

        var latest = TimeZoneInfo.ConvertTime(now - Duration, TimeZone);
        var midnight = latest.Date;
        return new DateTimeOffset(midnight, TimeZone.GetUtcOffset(midnight)).ToUniversalTime();
    }

    public static Scenario Load(string path) => Parse(File.ReadAllText(path), path);

    public static Scenario Parse(string json, string source = "(inline)")
    {
        ScenarioFile file;
        try
        {
            file = JsonSerializer.Deserialize<ScenarioFile>(json, ScenarioJson.Options) ?? throw new JsonException("the file is empty");
        }
        catch (JsonException ex)
        {
            throw new ScenarioException(source, [ex.Message]);
        }

        return FromFile(file, source);
    }

    [GeneratedRegex("^[A-Za-z0-9_.-]{1,64}$")]
    private static partial Regex SegmentPattern();

    public static Scenario FromFile(ScenarioFile f, string source)
    {
        var errors = new List<string>();
        var name = f.Name ?? Path.GetFileNameWithoutExtension(source);

        if (string.IsNullOrWhiteSpace(f.TopicRoot) || f.TopicRoot.Split('/').Any(s => !SegmentPattern().IsMatch(s)))
        {
            errors.Add($"topicRoot '{f.TopicRoot}': segments of 1..64 characters A-Z a-z 0-9 _ - .");
        }

        var city = f.City ?? new CityFile();
        if (city.Latitude is not { } lat || lat is < -90 or > 90)
        {
            errors.Add("city.latitude: required, -90..90");
        }

        if (city.Longitude is not { } lon || lon is < -180 or > 180)
        {
            errors.Add("city.longitude: required, -180..180");
        }

        var zone = TimeZoneInfo.Utc;
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(city.TimeZone);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            errors.Add($"city.timeZone '{city.TimeZone}': not a known time zone (IANA id such as Europe/Amsterdam)");
        }

        var districts = ParseDistricts(f.Districts, errors);

        var counts = new Dictionary<DeviceType, int>();
        foreach (var (typeName, count) in f.Devices)
        {
            if (!DeviceTypes.TryParse(typeName, out var type))
            {
                errors.Add($"devices.{typeName}: unknown device type (known: {string.Join(", ", DeviceTypes.All.Select(t => t.Name()))})");
            }
            else if (count is < 0 or > 1_000_000)
            {
                errors.Add($"devices.{typeName}: 0..1000000");
            }
            else
            {
                counts[type] = count;
            }
        }

        if (counts.Values.Sum() == 0)
        {
            errors.Add("devices: at least one device");
        }

        DateTimeOffset? start = null;
        if (!string.Equals(f.Time.Start, "auto", StringComparison.OrdinalIgnoreCase))
        {
            if (DateTimeOffset.TryParse(f.Time.Start, CultureInfo.InvariantCulture, DateTimeStyles.None, out var s) && HasOffset(f.Time.Start))
            {
                start = s.ToUniversalTime();
            }
            else
            {
                errors.Add($"time.start '{f.Time.Start}': \"auto\" or an RFC 3339 timestamp with an offset");
            }
        }

        if (f.Time.Duration <= TimeSpan.Zero || f.Time.Duration > TimeSpan.FromDays(29))
        {
            // The worker drops device timestamps older than 30 days.
            errors.Add("time.duration: more than 0 and at most 29 days");
        }

        if (f.Time.Acceleration is <= 0 or > 1_000_000)
        {
            errors.Add("time.acceleration: more than 0 and at most 1000000");
        }

        var intervals = DeviceTypes.All.ToDictionary(t => t, t => t.DefaultInterval());
        foreach (var (typeName, interval) in f.Intervals)
        {
            if (!DeviceTypes.TryParse(typeName, out var type))
            {
                errors.Add($"intervals.{typeName}: unknown device type");
            }
            else if (interval < TimeSpan.FromSeconds(1) || interval > TimeSpan.FromDays(1))
            {
                errors.Add($"intervals.{typeName}: 1 s .. 1 day");
            }
            else
            {
                intervals[type] = interval;
            }
        }

        var lighting = ParseLighting(f.Lighting, errors);
        var schools = ParseSchools(f.Schools, errors);
        var security = ParseSecurity(f.Security, counts, errors);

        var faults = new List<Fault>();
        var faultIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < f.Faults.Count; i++)
        {
            var ff = f.Faults[i];
            var where = $"faults[{i}]";
            var id = ff.Id ?? $"f{i + 1}";
            if (!faultIds.Add(id))
            {
                errors.Add($"{where}.id '{id}': used twice");
            }

            if (ff.Kind is null || !FaultKinds.TryParse(ff.Kind, out var kind))
            {
                errors.Add($"{where}.kind '{ff.Kind}': one of {string.Join(", ", Enum.GetValues<FaultKind>().Select(k => k.Name()))}");
                continue;
            }

            if (ff.Device is null || !DeviceTypes.TryParseId(ff.Device, out var type, out var index))
            {
                errors.Add($"{where}.device '{ff.Device}': a device id such as lamp-000012");
                continue;
            }

            if (index >= counts.GetValueOrDefault(type))
            {
                errors.Add($"{where}.device '{ff.Device}': the scenario has {counts.GetValueOrDefault(type)} {type.Name()} devices");
                continue;
            }

            if (kind.AppliesTo() is { } types && !types.Contains(type))
            {
                errors.Add($"{where}: {kind.Name()} applies to {string.Join(", ", types.Select(t => t.Name()))}, not {type.Name()}");
                continue;
            }

            if (ff.At < TimeSpan.Zero || ff.Duration is { } d && d <= TimeSpan.Zero)
            {
                errors.Add($"{where}: 'at' must not be negative and 'duration' must be positive");
                continue;
            }

            if (kind == FaultKind.ClockSkew && ff.Skew is null)
            {
                errors.Add($"{where}: clock_skew needs 'skew' (for example \"00:10:00\" or \"-01:00:00\")");
                continue;
            }

            faults.Add(new Fault(id, kind, type, index, ff.Device, ff.At, ff.Duration, ff.Count ?? 20, ff.Skew ?? TimeSpan.Zero, ff.Ppm ?? 4500));
        }

        var alerts = new List<ExpectedAlert>();
        for (var i = 0; i < f.ExpectedAlerts.Count; i++)
        {
            var a = f.ExpectedAlerts[i];
            var where = $"expectedAlerts[{i}]";
            if (a.Rule is null || !FaultKinds.Rules.Contains(a.Rule))
            {
                errors.Add($"{where}.rule '{a.Rule}': one of {string.Join(", ", FaultKinds.Rules.Order(StringComparer.Ordinal))}");
            }

            if (a.Device is null || !DeviceTypes.TryParseId(a.Device, out var type, out var index) || index >= counts.GetValueOrDefault(type))
            {
                errors.Add($"{where}.device '{a.Device}': not a device of this scenario");
            }

            if (a.Fault is not null && !faultIds.Contains(a.Fault))
            {
                errors.Add($"{where}.fault '{a.Fault}': no fault has this id");
            }

            alerts.Add(new ExpectedAlert(a.Rule ?? "", a.Device ?? "", a.At, a.Within, a.Fault));
        }

        if (errors.Count > 0)
        {
            throw new ScenarioException(source, errors);
        }

        return new Scenario
        {
            Name = name,
            Description = f.Description ?? "",
            Seed = f.Seed,
            TopicRoot = f.TopicRoot,
            CityName = city.Name,
            Latitude = city.Latitude!.Value,
            Longitude = city.Longitude!.Value,
            TimeZone = zone,
            Districts = districts,
            Counts = counts,
            Start = start,
            Duration = f.Time.Duration,
            Acceleration = f.Time.Acceleration,
            Intervals = intervals,
            Lighting = lighting,
            Schools = schools,
            Security = security,
            Faults = faults,
            ExpectedAlerts = alerts,
        };
    }

    private static bool HasOffset(string text) =>
        text.EndsWith('Z') || text.EndsWith('z') || Regex.IsMatch(text, @"[+-]\d\d:\d\d$");

    private static List<string> ParseDistricts(JsonElement element, List<string> errors)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return ["d01"];
            case JsonValueKind.Number when element.TryGetInt32(out var n) && n is >= 1 and <= 999:
                return Enumerable.Range(1, n).Select(i => $"d{i:00}").ToList();
            case JsonValueKind.Array:
                var list = new List<string>();
                foreach (var d in element.EnumerateArray())
                {
                    var id = d.ValueKind == JsonValueKind.String ? d.GetString()! : "";
                    if (!SegmentPattern().IsMatch(id))
                    {
                        errors.Add($"districts: '{d}' is not a topic segment (1..64 of A-Z a-z 0-9 _ - .)");
                    }

                    list.Add(id);
                }

                if (list.Count == 0 || list.Distinct(StringComparer.Ordinal).Count() != list.Count)
                {
                    errors.Add("districts: at least one, each once");
                }

                return list;
            default:
                errors.Add("districts: a number (1..999) or a list of district ids");
                return ["d01"];
        }
    }

    private static LightingSettings ParseLighting(LightingFile l, List<string> errors)
    {
        var steps = new List<DimStep>();
        foreach (var s in l.Dimming)
        {
            if (s.Level is < 1 or > 100)
            {
                errors.Add($"lighting.dimming: level {s.Level} must be 1..100 (a lamp that is on is at least 1%)");
            }

            if (string.Equals(s.At, "dusk", StringComparison.OrdinalIgnoreCase))
            {
                steps.Add(new DimStep(true, default, s.Level));
            }
            else if (TimeOnly.TryParseExact(s.At, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at))
            {
                steps.Add(new DimStep(false, at, s.Level));
            }
            else
            {
                errors.Add($"lighting.dimming: at '{s.At}' must be \"dusk\" or a local time \"HH:mm\"");
            }
        }

        if (l.Wattages.Count == 0 || l.Wattages.Any(w => w is <= 0 or > 1000))
        {
            errors.Add("lighting.wattages: at least one, each 0..1000 W");
        }

        if (l.SwitchJitter < TimeSpan.Zero || l.SwitchJitter > TimeSpan.FromMinutes(30))
        {
            errors.Add("lighting.switchJitter: 0 .. 30 min");
        }

        return new LightingSettings(steps, l.Wattages, l.SwitchJitter);
    }

    private static SchoolSettings ParseSchools(SchoolsFile s, List<string> errors)
    {
        if (s.ClassroomsPerSchool is < 1 or > 200)
        {
            errors.Add("schools.classroomsPerSchool: 1..200");
        }

        if (s.ClassSize.Count != 2 || s.ClassSize[0] < 0 || s.ClassSize[1] < s.ClassSize[0] || s.ClassSize[1] > 500)
        {
            errors.Add("schools.classSize: [min, max] people, 0 <= min <= max <= 500");
        }

        if (s.Occupancy is < 0 or > 1 || s.AirChangesPerHour <= 0 || s.AirChangesPerHourOff <= 0 || s.RoomVolumeM3 <= 10)
        {
            errors.Add("schools: occupancy 0..1, airChangesPerHour and airChangesPerHourOff > 0, roomVolumeM3 > 10");
        }

        return new SchoolSettings(
            Math.Max(1, s.ClassroomsPerSchool),
            ParseDays(s.Days, "schools.days", errors),
            s.Lessons.Select((r, i) => ParseRange(r, $"schools.lessons[{i}]", errors)).ToList(),
            s.Holidays.Select(h => (h.From, h.To)).ToList(),
            s.Occupancy,
            s.ClassSize.Count > 0 ? s.ClassSize[0] : 20,
            s.ClassSize.Count > 1 ? s.ClassSize[1] : 30,
            ParseRange(s.VentilationHours, "schools.ventilationHours", errors),
            s.AirChangesPerHour,
            s.AirChangesPerHourOff,
            s.RoomVolumeM3);
    }

    private static SecuritySettings ParseSecurity(SecurityFile s, Dictionary<DeviceType, int> counts, List<string> errors)
    {
        var buildings = s.Buildings > 0 ? s.Buildings : Math.Max(1, counts.GetValueOrDefault(DeviceType.AlarmPanel));
        if (s.Buildings < 0 || s.DoorPassagesPerHour is < 0 or > 600 || s.MotionPerMinuteOpen is < 0 or > 1)
        {
            errors.Add("security: buildings >= 0, doorPassagesPerHour 0..600, motionPerMinuteOpen 0..1");
        }

        var hours = new List<OpeningHours>();
        for (var i = 0; i < s.OpeningHours.Count; i++)
        {
            var h = s.OpeningHours[i];
            var range = ParseRange(new TimeRangeFile { From = h.From, To = h.To }, $"security.openingHours[{i}]", errors);
            if (range.To <= range.From)
            {
                errors.Add($"security.openingHours[{i}]: 'to' must be after 'from' on the same day");
            }

            hours.Add(new OpeningHours(ParseDays(h.Days, $"security.openingHours[{i}].days", errors), range.From, range.To));
        }

        return new SecuritySettings(buildings, hours, s.ArmDelay, s.DisarmLead, s.DoorPassagesPerHour, s.MotionPerMinuteOpen, s.AlarmDuration);
    }

    private static HashSet<DayOfWeek> ParseDays(IEnumerable<string> days, string where, List<string> errors)
    {
        var set = new HashSet<DayOfWeek>();
        foreach (var d in days)
        {
            var match = Enum.GetValues<DayOfWeek>().Where(w => w.ToString().StartsWith(d, StringComparison.OrdinalIgnoreCase) && d.Length >= 3).ToList();
            if (match.Count != 1)
            {
                errors.Add($"{where}: '{d}' is not a day (Mon, Tue, ...)");
            }
            else
            {
                set.Add(match[0]);
            }
        }

        return set;
    }

    private static LocalTimeRange ParseRange(TimeRangeFile r, string where, List<string> errors)
    {
        if (!TimeOnly.TryParseExact(r.From, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var from)
            | !TimeOnly.TryParseExact(r.To, "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out var to))
        {
            errors.Add($"{where}: from/to must be local times \"HH:mm\"");
        }

        return new LocalTimeRange(from, to);
    }
}

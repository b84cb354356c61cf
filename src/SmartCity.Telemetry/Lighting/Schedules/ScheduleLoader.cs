using System.Text.Json;
using System.Text.Json.Serialization;

namespace SmartCity.Telemetry.Lighting.Schedules;

/// <summary>
/// Reads and checks the schedules file at start: every problem is named with its schedule, so a
/// city technician fixes the file once instead of one error per restart.
/// </summary>
public static class ScheduleLoader
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private static readonly TimeSpan MaxOffset = TimeSpan.FromHours(6);

    /// <summary>The schedules of <paramref name="path"/> (none without a path), and what is wrong with them.</summary>
    public static (IReadOnlyList<LightingSchedule> Schedules, IReadOnlyList<string> Errors) Load(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return ([], []);
        }

        if (!File.Exists(path))
        {
            return ([], [$"schedules file '{path}' does not exist"]);
        }

        LightingScheduleFile? file;
        try
        {
            file = JsonSerializer.Deserialize<LightingScheduleFile>(File.ReadAllText(path), Json);
        }
        catch (JsonException ex)
        {
            return ([], [$"schedules file '{path}' is not valid: {ex.Message}"]);
        }

        var schedules = file?.Schedules ?? [];
        var errors = Check(schedules).ToList();
        return errors.Count == 0 ? (schedules, []) : ([], errors);
    }

    public static IEnumerable<string> Check(IReadOnlyList<LightingSchedule> schedules)
    {
        ArgumentNullException.ThrowIfNull(schedules);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in schedules)
        {
            var at = $"schedule '{s.Id}'";
            if (string.IsNullOrWhiteSpace(s.Id) || !ids.Add(s.Id))
            {
                yield return $"{at}: needs an id of its own";
            }

            if (string.IsNullOrWhiteSpace(s.District) && string.IsNullOrWhiteSpace(s.Site))
            {
                yield return $"{at}: names a district or a site";
            }

            if (s.OnOffset.Duration() > MaxOffset || s.OffOffset.Duration() > MaxOffset)
            {
                yield return $"{at}: onOffset and offOffset must be within 6 hours of sunset and sunrise";
            }

            foreach (var problem in CheckLevels(at, s.OnLevel, s.Steps))
            {
                yield return problem;
            }

            var dates = new HashSet<DateOnly>();
            foreach (var e in s.Exceptions)
            {
                if (!dates.Add(e.Date))
                {
                    yield return $"{at}: exception {e.Date:yyyy-MM-dd} is listed twice";
                }

                foreach (var problem in CheckLevels($"{at} exception {e.Date:yyyy-MM-dd}", e.OnLevel ?? 100, e.Steps ?? []))
                {
                    yield return problem;
                }
            }
        }
    }

    private static IEnumerable<string> CheckLevels(string at, double onLevel, List<DimStep> steps)
    {
        if (onLevel is < 0 or > 100)
        {
            yield return $"{at}: onLevel must be 0..100 %, was {onLevel}";
        }

        foreach (var step in steps.Where(step => step.DimPct is < 0 or > 100))
        {
            yield return $"{at}: step {step.At:HH\\:mm} dimPct must be 0..100 %, was {step.DimPct}";
        }

        if (steps.Select(step => step.At).Distinct().Count() != steps.Count)
        {
            yield return $"{at}: two steps at the same time";
        }
    }
}

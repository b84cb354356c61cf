namespace SmartCity.Telemetry.Lighting.Schedules;

/// <summary>
/// One lighting schedule as data (the file named by <c>Lighting:SchedulesFile</c>, see
/// docs/lighting-control.md): lamps of a district or a site switch on at sunset and off at sunrise
/// (each with an offset), start the night at <see cref="OnLevel"/> and change level at local
/// wall-clock <see cref="Steps"/>; <see cref="Exceptions"/> replace the night's levels on given dates.
/// </summary>
public sealed record LightingSchedule
{
    public required string Id { get; init; }

    /// <summary>The district it drives (with <see cref="Site"/> null), or the district of the site.</summary>
    public string? District { get; init; }

    /// <summary>A single site instead of a whole district.</summary>
    public string? Site { get; init; }

    /// <summary>Added to sunset to switch on: negative switches on before sunset.</summary>
    public TimeSpan OnOffset { get; init; }

    /// <summary>Added to sunrise to switch off: positive keeps the lamps on after sunrise.</summary>
    public TimeSpan OffOffset { get; init; }

    /// <summary>Level from switch-on until the first step, percent.</summary>
    public double OnLevel { get; init; } = 100;

    /// <summary>Level changes during the night at local times, in the order they happen after switch-on.</summary>
    public List<DimStep> Steps { get; init; } = [];

    public List<ExceptionDate> Exceptions { get; init; } = [];
}

/// <summary>From local time <see cref="At"/> (the first one after switch-on) the lamps burn at <see cref="DimPct"/>.</summary>
public sealed record DimStep(TimeOnly At, double DimPct);

/// <summary>
/// The night that starts on local <see cref="Date"/> (a festival, a holiday) uses these levels instead;
/// what is left null keeps the schedule's own.
/// </summary>
public sealed record ExceptionDate
{
    public required DateOnly Date { get; init; }

    public string? Name { get; init; }

    public double? OnLevel { get; init; }

    public List<DimStep>? Steps { get; init; }
}

/// <summary>The schedules file.</summary>
public sealed record LightingScheduleFile
{
    public List<LightingSchedule> Schedules { get; init; } = [];
}

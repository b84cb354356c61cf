using System.Globalization;

namespace SmartCity.IntegrationTests.OpenData;

/// <summary>A lamp's reading as published: when, its meter, and the fault it reports (null when healthy).</summary>
internal sealed record LampReading(DateTimeOffset Time, double EnergyKwh, string? Fault);

/// <summary>A classroom sensor's reading as published.</summary>
internal sealed record Co2Reading(DateTimeOffset Time, double Co2);

internal sealed record Lamp(string District, string Id, IReadOnlyList<LampReading> Readings)
{
    public string Site => District + "-street-001";
}

internal sealed record Classroom(string District, string School, string Id, IReadOnlyList<Co2Reading> Readings);

/// <summary>
/// Seven days of a small city, generated with known outages and levels so that each published figure
/// can be computed here, from the raw readings, independently of the worker: three districts of lamps
/// (one too small to publish) read hourly, two schools (one with too few sensors) read every 15 minutes.
/// </summary>
internal sealed class SimulatedWeek
{
    public const int Hours = 7 * 24;

    /// <summary>Fault episodes: lamp, first faulty hour, first healthy hour again (null: still failed).</summary>
    public static readonly (string Lamp, string Fault, int From, int? To)[] Outages =
    [
        ("d01-lamp-0", "lamp_failure", 20, 50),
        ("d01-lamp-1", "driver_failure", 100, 112),
        ("d01-lamp-2", "lamp_failure", 150, null),
        ("d02-lamp-0", "lamp_failure", 10, 17),
        ("d02-lamp-0", "lamp_failure", 90, 96),
        ("d03-lamp-0", "lamp_failure", 5, 8),
    ];

    private static readonly double[] Levels = [500, 800, 1200, 1700];

    public SimulatedWeek(DateTimeOffset end, int seed = 23)
    {
        Start = end.AddHours(-Hours);
        var random = new Random(seed);
        Lamps = [.. new[] { ("d01", 6), ("d02", 5), ("d03", 2) }.SelectMany(d => Enumerable.Range(0, d.Item2).Select(i => MakeLamp(d.Item1, i, random)))];
        Classrooms = [.. new[] { ("d01", "school-a", 3), ("d02", "school-b", 2) }.SelectMany(s => Enumerable.Range(0, s.Item3).Select(i => MakeClassroom(s.Item1, s.Item2, i, random)))];
    }

    public DateTimeOffset Start { get; }

    public IReadOnlyList<Lamp> Lamps { get; }

    public IReadOnlyList<Classroom> Classrooms { get; }

    public static string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private Lamp MakeLamp(string district, int index, Random random)
    {
        var id = $"{district}-lamp-{index}";
        var energy = Math.Round(100 + random.NextDouble() * 900, 3);
        var readings = new List<LampReading>();
        for (var h = 0; h < Hours; h++)
        {
            energy = Math.Round(energy + 0.02 + random.NextDouble() * 0.04, 3);
            var fault = Outages.FirstOrDefault(o => o.Lamp == id && h >= o.From && (o.To is null || h < o.To)).Fault;
            readings.Add(new LampReading(Start.AddHours(h).AddSeconds(index * 7), energy, fault));
        }

        return new Lamp(district, id, readings);
    }

    private Classroom MakeClassroom(string district, string school, int index, Random random)
    {
        var readings = new List<Co2Reading>();
        for (var h = 0; h < Hours; h++)
        {
            var hour = Start.AddHours(h);
            var lesson = hour.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && hour.Hour is >= 8 and < 16;
            // Levels far from the thresholds, noise small: an hourly mean is never in doubt.
            var level = lesson ? Levels[random.Next(Levels.Length)] : 450;
            for (var q = 0; q < 4; q++)
            {
                readings.Add(new Co2Reading(hour.AddMinutes(15 * q).AddSeconds(index * 5), level + random.Next(-20, 21)));
            }
        }

        return new Classroom(district, school, $"{school}-cls-{index}", readings);
    }
}

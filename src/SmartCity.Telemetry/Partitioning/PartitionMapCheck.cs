using System.Text.RegularExpressions;

namespace SmartCity.Telemetry.Partitioning;

/// <summary>
/// Checks a partition map before a worker subscribes: a topic two partitions can both match would
/// reach two workers (duplicate points, alerts raised twice, a device's state split), and a city
/// topic no partition matches would reach nobody. Every problem names the partitions concerned.
/// </summary>
public static partial class PartitionMapCheck
{
    /// <summary>Every problem of <paramref name="map"/>; empty when it can be used.</summary>
    public static IReadOnlyList<string> Problems(PartitionMap map)
    {
        var problems = new List<string>();
        CheckCities(map, problems);
        CheckPartitions(map, problems);
        CheckOverlaps(map, problems);
        CheckCoverage(map, problems);
        return problems;
    }

    private static void CheckCities(PartitionMap map, List<string> problems)
    {
        if (map.Cities.Count == 0)
        {
            problems.Add("lists no city");
        }

        foreach (var group in map.Cities.GroupBy(c => c.Id).Where(g => g.Count() > 1))
        {
            problems.Add($"city '{group.Key}' is listed {group.Count()} times");
        }

        foreach (var city in map.Cities)
        {
            if (!IdPattern().IsMatch(city.Id))
            {
                problems.Add($"city '{city.Id}': id must be 1..64 characters of [A-Za-z0-9_.-]");
            }

            if (string.IsNullOrWhiteSpace(city.TopicRoot) || city.TopicRoot.EndsWith('/') || TopicFilters.Problem(city.TopicRoot) is not null || city.TopicRoot.Contains('+') || city.TopicRoot.Contains('#'))
            {
                problems.Add($"city '{city.Id}': topicRoot '{city.TopicRoot}' must be topic levels without wildcards or a trailing '/'");
            }

            if (string.IsNullOrWhiteSpace(city.Bucket))
            {
                problems.Add($"city '{city.Id}': bucket is required (each city stores into its own)");
            }
        }

        foreach (var pair in Pairs(map.Cities))
        {
            if (pair.A.Bucket.Length > 0 && pair.A.Bucket == pair.B.Bucket)
            {
                problems.Add($"cities '{pair.A.Id}' and '{pair.B.Id}' share the bucket '{pair.A.Bucket}': a city's data must be its own");
            }

            if (pair.A.TopicRoot.Length > 0 && pair.B.TopicRoot.Length > 0 && TopicFilters.Overlap(pair.A.TopicRoot + "/#", pair.B.TopicRoot + "/#"))
            {
                problems.Add($"cities '{pair.A.Id}' and '{pair.B.Id}' have nested topic roots '{pair.A.TopicRoot}' and '{pair.B.TopicRoot}'");
            }
        }
    }

    private static void CheckPartitions(PartitionMap map, List<string> problems)
    {
        foreach (var group in map.Partitions.GroupBy(p => p.Id).Where(g => g.Count() > 1))
        {
            problems.Add($"partition '{group.Key}' is listed {group.Count()} times");
        }

        foreach (var p in map.Partitions)
        {
            if (!IdPattern().IsMatch(p.Id))
            {
                problems.Add($"partition '{p.Id}': id must be 1..64 characters of [A-Za-z0-9_.-]");
            }

            if (!IdPattern().IsMatch(p.Worker))
            {
                problems.Add($"partition '{p.Id}': worker '{p.Worker}' must be 1..64 characters of [A-Za-z0-9_.-] (it is the MQTT client id)");
            }

            var city = map.City(p.City);
            if (city is null)
            {
                problems.Add($"partition '{p.Id}': city '{p.City}' is not listed in cities");
            }

            if (p.Filters.Count == 0)
            {
                problems.Add($"partition '{p.Id}': lists no topic filter");
            }

            foreach (var filter in p.Filters)
            {
                if (TopicFilters.Problem(filter) is { } problem)
                {
                    problems.Add($"partition '{p.Id}': filter '{filter}' {problem}");
                }
                else if (city is not null && !filter.StartsWith(city.TopicRoot + "/", StringComparison.Ordinal))
                {
                    problems.Add($"partition '{p.Id}': filter '{filter}' is not under its city's topic root '{city.TopicRoot}/'");
                }
            }
        }

        // A worker decodes one topic root and stores into one bucket: its partitions are of one city.
        foreach (var worker in map.Partitions.GroupBy(p => p.Worker))
        {
            var cities = worker.Select(p => p.City).Distinct().ToList();
            if (cities.Count > 1)
            {
                problems.Add($"worker '{worker.Key}' owns partitions of several cities ({string.Join(", ", worker.Select(p => $"'{p.Id}' of '{p.City}'"))}); one worker serves one city");
            }
        }
    }

    private static void CheckOverlaps(PartitionMap map, List<string> problems)
    {
        foreach (var (a, b) in Pairs(map.Partitions))
        {
            foreach (var fa in a.Filters.Where(f => TopicFilters.Problem(f) is null))
            {
                foreach (var fb in b.Filters.Where(f => TopicFilters.Problem(f) is null).Where(fb => TopicFilters.Overlap(fa, fb)))
                {
                    problems.Add($"partitions '{a.Id}' and '{b.Id}' overlap: '{fa}' and '{fb}' can match the same topic");
                }
            }
        }
    }

    private static void CheckCoverage(PartitionMap map, List<string> problems)
    {
        foreach (var city in map.Cities.Where(c => c.TopicRoot.Length > 0))
        {
            var filters = map.Partitions.Where(p => p.City == city.Id).SelectMany(p => p.Filters).Where(f => TopicFilters.Problem(f) is null).ToList();
            // A probe topic per district, with levels no filter names: covered only by wildcards
            // that take the whole district (or the whole city).
            const string Any = "\u2003any";
            var districts = city.Districts.Count > 0 ? city.Districts : [Any];
            var uncovered = districts
                .Where(d => !filters.Any(f => TopicFilters.Matches(f, $"{city.TopicRoot}/{Any}/{d}/{Any}/{Any}/{Any}/telemetry")))
                .ToList();
            if (city.Districts.Count == 0 && uncovered.Count > 0)
            {
                problems.Add($"city '{city.Id}': its topic root '{city.TopicRoot}' is not covered by any partition (list its districts if partitions split it by district)");
            }
            else if (uncovered.Count > 0)
            {
                problems.Add($"city '{city.Id}': district(s) {string.Join(", ", uncovered.Select(d => $"'{d}'"))} covered by no partition");
            }
        }
    }

    private static IEnumerable<(T A, T B)> Pairs<T>(List<T> items)
    {
        for (var i = 0; i < items.Count; i++)
        {
            for (var j = i + 1; j < items.Count; j++)
            {
                yield return (items[i], items[j]);
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_.\\-]{1,64}$")]
    private static partial Regex IdPattern();
}

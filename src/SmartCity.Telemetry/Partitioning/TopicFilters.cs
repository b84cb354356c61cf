namespace SmartCity.Telemetry.Partitioning;

/// <summary>
/// MQTT topic-filter semantics (MQTT 5 section 4.7) for the partition map: whether a filter is
/// well formed, whether it matches a topic, and whether two filters can match the same topic.
/// </summary>
public static class TopicFilters
{
    /// <summary>Why <paramref name="filter"/> is not a topic filter a partition may use, or null when it is.</summary>
    public static string? Problem(string? filter)
    {
        if (string.IsNullOrEmpty(filter))
        {
            return "is empty";
        }

        if (filter.StartsWith("$share/", StringComparison.Ordinal))
        {
            // A shared subscription spreads one partition over several sessions round-robin: the
            // per-device state a partition exists for would be split (docs/scaling.md).
            return "is a shared subscription ($share/...): a partition belongs to one worker";
        }

        var levels = filter.Split('/');
        for (var i = 0; i < levels.Length; i++)
        {
            var level = levels[i];
            if (level.Contains('#', StringComparison.Ordinal) && (level != "#" || i != levels.Length - 1))
            {
                return "uses '#' other than as the whole last level";
            }

            if (level.Contains('+', StringComparison.Ordinal) && level != "+")
            {
                return "uses '+' other than as a whole level";
            }
        }

        return null;
    }

    /// <summary>True when <paramref name="filter"/> (well formed) matches the topic name <paramref name="topic"/>.</summary>
    public static bool Matches(string filter, string topic)
    {
        var f = filter.Split('/');
        var t = topic.Split('/');
        // Wildcards at the first level do not match topics starting with '$' (4.7.2).
        if (t[0].StartsWith('$') && f[0] is "#" or "+")
        {
            return false;
        }

        for (var i = 0; i < f.Length; i++)
        {
            if (f[i] == "#")
            {
                return true; // also the parent level: "a/#" matches "a"
            }

            if (i >= t.Length || (f[i] != "+" && f[i] != t[i]))
            {
                return false;
            }
        }

        return f.Length == t.Length;
    }

    /// <summary>
    /// True when some topic name is matched by both filters (both well formed). Level by level: a
    /// '#' in either matches whatever remains of the other (including nothing, since "a/#" matches
    /// "a"); a '+' matches any one level of the other (a literal or a wildcard); two literals must be
    /// equal; and when one filter ends first, only a trailing "#" of the other can still match.
    /// </summary>
    public static bool Overlap(string a, string b)
    {
        var x = a.Split('/');
        var y = b.Split('/');
        if (DollarExcluded(x, y) || DollarExcluded(y, x))
        {
            return false;
        }

        for (var i = 0; ; i++)
        {
            var xEnded = i >= x.Length;
            var yEnded = i >= y.Length;
            if (xEnded && yEnded)
            {
                return true;
            }

            if ((!xEnded && x[i] == "#") || (!yEnded && y[i] == "#"))
            {
                return true;
            }

            if (xEnded || yEnded)
            {
                return false;
            }

            if (x[i] != "+" && y[i] != "+" && x[i] != y[i])
            {
                return false;
            }
        }
    }

    // "$SYS/#" and "#" share no topic: a first-level wildcard never matches a '$' topic.
    private static bool DollarExcluded(string[] literal, string[] other) =>
        literal[0].StartsWith('$') && other[0] is "#" or "+";
}

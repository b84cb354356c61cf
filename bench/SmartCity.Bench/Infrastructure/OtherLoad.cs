using System.Globalization;

namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// The other processes' load over a measurement window: machine busy ticks (/proc/stat) minus the
/// ticks of the processes the benchmark measures (/proc/PID/stat), as a share of all cores. A window
/// where others took more than <see cref="ClaimLimitPercent"/> is reported as not for claims: on a
/// shared machine its rates and CPU per message say more about the neighbours than about us.
/// Pure functions over the /proc texts, so the computation is tested on recorded samples.
/// </summary>
public static class OtherLoad
{
    /// <summary>Above this share of all cores taken by other processes a window is not for claims.</summary>
    public const double ClaimLimitPercent = 10;

    /// <summary>The machine's busy and total ticks over all cores from the text of /proc/stat (its aggregate "cpu " line).</summary>
    public static MachineTicks ParseMachine(string procStat)
    {
        var line = procStat.Split('\n').First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        var v = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        // user nice system idle iowait irq softirq steal (guest and guest_nice are already in user and nice)
        var total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
        var idle = v[3] + v[4];
        return new MachineTicks(total - idle, total, v[7], v[4]);
    }

    /// <summary>
    /// As <see cref="ParseMachine(string)"/>, but the total is the wall-clock time of all cores
    /// (<paramref name="procUptime"/>'s first field) and busy is that total minus idle and iowait.
    /// Why: the kernel accounts idle and iowait exactly (tickless idle), but user and system only
    /// where a timer tick lands, and a tickless core that wakes for well under a tick (a paced
    /// phase: thousands of short wake-ups a second) often gets no tick at all. /proc/stat's busy
    /// then falls short of the processes' own exact utime+stime and the "other" share went
    /// negative (-22 % and -29 % of a core in the paced phases of a quiet run). Steal stays tick-based.
    /// </summary>
    public static MachineTicks ParseMachine(string procStat, string procUptime, int cores)
    {
        var ticks = ParseMachine(procStat);
        var idle = ticks.Total - ticks.Busy;
        var seconds = double.Parse(procUptime.Split(' ', StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        var total = (long)Math.Round(seconds * 100 * cores);
        return new MachineTicks(total - idle, total, ticks.Steal, ticks.IoWait);
    }

    /// <summary>utime + stime of one /proc/PID/stat text (optionally plus the waited-for children's); the command name may hold spaces and parentheses.</summary>
    public static long ParseProcessTicks(string pidStat, bool withWaitedChildren)
    {
        // Fields after "pid (comm) ": state(3) ... utime(14) stime(15) cutime(16) cstime(17).
        var fields = pidStat[(pidStat.LastIndexOf(')') + 2)..].Split(' ');
        var own = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return withWaitedChildren ? own + long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture) : own;
    }

    /// <summary>
    /// Busy ticks not accounted to the measured processes, in percent of all cores over the window
    /// (100 = every core busy with other work). The machine and the processes are sampled a few
    /// microseconds apart, so the difference can dip below zero on an idle machine: clamped at 0.
    /// </summary>
    public static double Percent(MachineTicks start, MachineTicks end, long measuredTicks)
    {
        var total = end.Total - start.Total;
        if (total <= 0)
        {
            return 0;
        }

        var other = end.Busy - start.Busy - measuredTicks;
        return Math.Round(Math.Max(0, other) * 100.0 / total, 1);
    }

    public static bool IsForClaims(double otherPercentOfAllCores) => otherPercentOfAllCores <= ClaimLimitPercent;
}

using System.Globalization;

namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// CPU and memory from /proc (Linux), read from outside the measured processes so nothing is
/// added to them. CPU times are in clock ticks (USER_HZ, 100 per second on Linux).
/// </summary>
public static class ProcStats
{
    public const double TicksPerSecond = 100;

    /// <summary>utime + stime of a process (all its threads), optionally plus those of the children it waited for; null when it is gone.</summary>
    public static long? CpuTicks(int pid, bool withWaitedChildren = false) => Read($"/proc/{pid}/stat") is { } stat ? OtherLoad.ParseProcessTicks(stat, withWaitedChildren) : null;

    /// <summary>Peak resident set size (VmHWM) in KiB.</summary>
    public static long? PeakRssKb(int pid) => StatusField(pid, "VmHWM:");

    public static long? RssKb(int pid) => StatusField(pid, "VmRSS:");

    /// <summary>Anonymous (heap, stacks: the process's own) and file-backed (mapped DLLs, shared) parts of the RSS now, in KiB.</summary>
    public static (long Anon, long File) RssSplitKb(int pid) => (StatusField(pid, "RssAnon:") ?? 0, StatusField(pid, "RssFile:") ?? 0);

    /// <summary>Per-thread CPU ticks and names (/proc/PID/task/TID), for "which thread is busy".</summary>
    public static Dictionary<int, (string Name, long Ticks)> Threads(int pid)
    {
        var result = new Dictionary<int, (string, long)>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var tid))
                {
                    continue;
                }

                var stat = Read(Path.Combine(dir, "stat"));
                if (stat is null)
                {
                    continue;
                }

                var ticks = OtherLoad.ParseProcessTicks(stat, false);

                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                result[tid] = (stat[(open + 1)..close], ticks);
            }
        }
        catch (DirectoryNotFoundException)
        {
        }

        return result;
    }

    /// <summary>Pids of the live processes in a process group (nginx: master and workers).</summary>
    public static List<int> ProcessGroup(int pgid)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var stat = Read(Path.Combine(dir, "stat"));
            if (stat is null)
            {
                continue;
            }

            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            if (fields[0] != "Z" && fields[2] == pgid.ToString(CultureInfo.InvariantCulture))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    /// <summary>Whole machine: busy and total ticks over all cores, and steal (time the hypervisor gave to others).</summary>
    public static MachineTicks Machine() => OtherLoad.ParseMachine(File.ReadAllText("/proc/stat"), File.ReadAllText("/proc/uptime"), Environment.ProcessorCount);

    public static double LoadAverage1() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static long? StatusField(int pid, string name)
    {
        var status = Read($"/proc/{pid}/status");
        if (status is null)
        {
            return null;
        }

        foreach (var line in status.Split('\n'))
        {
            if (line.StartsWith(name, StringComparison.Ordinal))
            {
                return long.Parse(line[name.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

public readonly record struct MachineTicks(long Busy, long Total, long Steal, long IoWait);

/// <summary>
/// CPU used by each named process between <see cref="Start"/> and <see cref="Stop"/>, plus the
/// whole machine, so a figure comes with where the cores went (ours, and everyone else's).
/// </summary>
public sealed class CpuWindow
{
    private readonly Func<IReadOnlyDictionary<string, IReadOnlyList<int>>> _processes;
    private Dictionary<string, long> _start = [];
    private Dictionary<string, long> _kept = [];
    private MachineTicks _machineStart;
    private long _startTimestamp;

    public CpuWindow(Func<IReadOnlyDictionary<string, IReadOnlyList<int>>> processes) => _processes = processes;

    public void Start()
    {
        _start = Sample();
        _machineStart = ProcStats.Machine();
        _startTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// Samples now and keeps the figures: a process that exits before <see cref="Stop"/> (the memory phase's
    /// simulator) is gone from /proc by then, and without this its CPU fell to "other" and the window was
    /// marked not for claims (16-23 % other load in every memory window of 2026-12-07).
    /// </summary>
    public void Keep() => _kept = Sample();

    public CpuReport Stop()
    {
        var end = Sample();
        foreach (var (name, kept) in _kept)
        {
            // A process still running has used at least as much by now; one that exited reads 0.
            end[name] = Math.Max(end.GetValueOrDefault(name), kept);
        }

        var machine = ProcStats.Machine();
        var seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_startTimestamp).TotalSeconds;
        var perProcess = new Dictionary<string, double>(StringComparer.Ordinal);
        long measuredTicks = 0;
        foreach (var (name, ticks) in end)
        {
            var before = _start.TryGetValue(name, out var b) ? b : 0;
            measuredTicks += ticks - before;
            perProcess[name] = Math.Round((ticks - before) / ProcStats.TicksPerSecond / seconds * 100, 1);
        }

        var totalTicks = machine.Total - _machineStart.Total;
        var cores = Environment.ProcessorCount;
        return new CpuReport(
            Math.Round(seconds, 2),
            perProcess,
            totalTicks > 0 ? Math.Round((double)(machine.Busy - _machineStart.Busy) / totalTicks * 100 * cores, 1) : 0,
            totalTicks > 0 ? Math.Round((double)(machine.Steal - _machineStart.Steal) / totalTicks * 100 * cores, 1) : 0,
            cores * 100,
            OtherLoad.Percent(_machineStart, machine, measuredTicks));
    }

    private Dictionary<string, long> Sample()
    {
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var (name, pids) in _processes())
        {
            long sum = 0;
            foreach (var pid in pids)
            {
                // The subscriber may be a shell around mosquitto_sub: its waited-for child's CPU is its own.
                sum += ProcStats.CpuTicks(pid, withWaitedChildren: name == "subscriber") ?? 0;
            }

            result[name] = sum;
        }

        return result;
    }
}

/// <summary>CPU in percent of one core (200 = both cores of a 2-core machine).</summary>
/// <param name="OtherLoadPercent">Other processes' load over the window in percent of all cores (<see cref="OtherLoad"/>).</param>
public sealed record CpuReport(double Seconds, IReadOnlyDictionary<string, double> ProcessPercent, double MachineBusyPercent, double StealPercent, int CapacityPercent, double OtherLoadPercent)
{
    /// <summary>False when other processes took more than <see cref="OtherLoad.ClaimLimitPercent"/> % of all cores in the window.</summary>
    public bool ForClaims => OtherLoad.IsForClaims(OtherLoadPercent);

    /// <summary>Busy time not accounted to our processes: other work on the machine during the window.</summary>
    public double OtherPercent => Math.Round(MachineBusyPercent - ProcessPercent.Values.Sum(), 1);

    public string Describe() =>
        string.Join(", ", ProcessPercent.Where(p => p.Value > 0).OrderByDescending(p => p.Value).Select(p => $"{p.Key} {p.Value:F0}%"))
        + $", other {OtherPercent:F0}% | machine {MachineBusyPercent:F0}% of {CapacityPercent}%" + (StealPercent > 0.5 ? $" (steal {StealPercent:F0}%)" : "")
        + $" | other load {OtherLoadPercent:F1}% of all cores" + (ForClaims ? "" : " NOT FOR CLAIMS");
}

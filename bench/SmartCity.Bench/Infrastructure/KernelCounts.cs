using System.Diagnostics;
using System.Globalization;

namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// Kernel events of one process (all its threads, also those that ended) over a measurement window,
/// counted by <c>perf stat</c>: context switches (each a thread that slept and was woken, or was
/// preempted), fsyncs, socket and file writes, futex calls. Unlike CPU time these counts hardly
/// depend on what else runs on the machine, so per message they compare builds on a shared machine.
/// Null where perf is missing or not allowed (the figures are then simply not reported).
/// </summary>
public sealed class KernelCounts
{
    /// <summary>The events counted, with the short name each is reported under.</summary>
    public static readonly IReadOnlyList<(string Event, string Name)> Events =
    [
        ("context-switches", "context switches"),
        ("syscalls:sys_enter_fsync", "fsync"),
        ("syscalls:sys_enter_fdatasync", "fdatasync"),
        ("syscalls:sys_enter_sendmsg", "sendmsg"),
        ("syscalls:sys_enter_sendto", "sendto"),
        ("syscalls:sys_enter_write", "write"),
        ("syscalls:sys_enter_futex", "futex"),
    ];

    private readonly Process _perf;
    private readonly string _output;

    private KernelCounts(Process perf, string output)
    {
        _perf = perf;
        _output = output;
    }

    public static KernelCounts? TryStart(int pid, string outputPath)
    {
        try
        {
            var info = new ProcessStartInfo("perf", ["stat", "-x", ",", "-o", outputPath, "-e", string.Join(',', Events.Select(e => e.Event)), "-p", pid.ToString(CultureInfo.InvariantCulture)])
            {
                UseShellExecute = false,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            return Process.Start(info) is { } perf ? new KernelCounts(perf, outputPath) : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>Ends the count (SIGINT: perf prints its totals) and returns each event's count; null when perf failed.</summary>
    public async Task<IReadOnlyDictionary<string, long>?> StopAsync()
    {
        try
        {
            using (var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", _perf.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
            {
                await kill!.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _perf.WaitForExitAsync(timeout.Token);
            return File.Exists(_output) ? Parse(await File.ReadAllTextAsync(_output)) : null;
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return null;
        }
        finally
        {
            _perf.Dispose();
        }
    }

    /// <summary>Counts from perf stat's CSV output (<c>-x ,</c>): "value,unit,event,..." lines; "&lt;not counted&gt;" is 0.</summary>
    public static IReadOnlyDictionary<string, long>? Parse(string csv)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in csv.Split('\n'))
        {
            var fields = line.Split(',');
            if (fields.Length < 3 || Events.FirstOrDefault(e => e.Event == fields[2]) is not { Name: { } name })
            {
                continue;
            }

            counts[name] = long.TryParse(fields[0], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;
        }

        return counts.Count == 0 ? null : counts;
    }

    /// <summary>Per message, in the report's order: context switches, fsyncs (fsync + fdatasync), sends (sendmsg + sendto), writes, futex calls.</summary>
    public static IReadOnlyDictionary<string, double> PerMessage(IReadOnlyDictionary<string, long> counts, long messages)
    {
        double Per(params string[] names) => Math.Round(names.Sum(n => counts.GetValueOrDefault(n)) / (double)Math.Max(1, messages), 3);
        return new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["context switches"] = Per("context switches"),
            ["fsyncs"] = Per("fsync", "fdatasync"),
            ["socket sends"] = Per("sendmsg", "sendto"),
            ["writes"] = Per("write"),
            ["futex calls"] = Per("futex"),
        };
    }

    public static string Describe(IReadOnlyDictionary<string, double>? perMessage) =>
        perMessage is null ? "kernel events: not counted (perf unavailable)" : "per message: " + string.Join(", ", perMessage.Select(kv => $"{kv.Value:0.###} {kv.Key}"));
}

using System.Diagnostics.Tracing;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;

namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// The worker's runtime counters (the "System.Runtime" event counters: GC heap and its generations,
/// LOH, committed memory, time in GC, thread pool), read from outside the process over EventPipe
/// once a second, as dotnet-counters does. Keeps the peak of each gauge and the sum of each rate.
/// </summary>
public sealed class RuntimeCounters : IDisposable
{
    private readonly EventPipeSession _session;
    private readonly Task _processing;
    private readonly object _lock = new();
    private readonly Dictionary<string, double> _peaks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, double> _sums = new(StringComparer.Ordinal);

    private RuntimeCounters(EventPipeSession session)
    {
        _session = session;
        var source = new EventPipeEventSource(session.EventStream);
        source.Dynamic.All += OnEvent;
        _processing = Task.Run(source.Process);
    }

    /// <summary>Starts reading; null (and a note on stdout) when the process cannot be reached.</summary>
    public static RuntimeCounters? TryStart(int pid)
    {
        try
        {
            var client = new DiagnosticsClient(pid);
            var provider = new EventPipeProvider("System.Runtime", EventLevel.Informational, (long)EventKeywords.None, new Dictionary<string, string> { ["EventCounterIntervalSec"] = "1" });
            return new RuntimeCounters(client.StartEventPipeSession([provider], requestRundown: false));
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or DiagnosticsClientException or IOException or UnauthorizedAccessException or TimeoutException)
        {
            Console.WriteLine($"  (runtime counters of pid {pid} unavailable: {ex.Message})");
            return null;
        }
    }

    private void OnEvent(TraceEvent e)
    {
        if (e.EventName != "EventCounters" || e.PayloadValue(0) is not IDictionary<string, object> outer || outer["Payload"] is not IDictionary<string, object> payload)
        {
            return;
        }

        var name = (string)payload["Name"];
        lock (_lock)
        {
            if (payload.TryGetValue("Increment", out var increment))
            {
                _sums[name] = _sums.GetValueOrDefault(name) + Convert.ToDouble(increment, CultureInfo.InvariantCulture);
            }
            else if (payload.TryGetValue("Max", out var max))
            {
                _peaks[name] = Math.Max(_peaks.GetValueOrDefault(name), Convert.ToDouble(max, CultureInfo.InvariantCulture));
            }
        }
    }

    /// <summary>The running sum of an incrementing counter (e.g. time-in-jit in ms) so far; 0 before its first report.</summary>
    public double Sum(string name)
    {
        lock (_lock)
        {
            return _sums.GetValueOrDefault(name);
        }
    }

    /// <summary>Milliseconds the runtime has spent in the JIT so far (time-in-jit; under a saturated machine, the compiling threads' wall time).</summary>
    public double JitMs => Sum("time-in-jit");

    /// <summary>Peaks of the memory gauges in MB, GC counts and time in GC, as one line for the report.</summary>
    public IReadOnlyDictionary<string, double> Snapshot()
    {
        lock (_lock)
        {
            var result = new SortedDictionary<string, double>(StringComparer.Ordinal);
            foreach (var (k, v) in _peaks)
            {
                // Sizes in bytes become MB; gc-heap-size, gc-committed and working-set already are MB.
                result["peak " + k] = k.EndsWith("-size", StringComparison.Ordinal) && k != "gc-heap-size" ? Math.Round(v / 1048576.0, 1) : Math.Round(v, 1);
            }

            foreach (var (k, v) in _sums)
            {
                result["sum " + k] = k == "alloc-rate" ? Math.Round(v / 1048576.0, 0) : Math.Round(v, 0);
            }

            return result;
        }
    }

    /// <summary>The figures that explain memory: GC heap, LOH, gen0, committed, working set, GC counts, allocated MB.</summary>
    public static string Describe(IReadOnlyDictionary<string, double>? counters)
    {
        if (counters is null || counters.Count == 0)
        {
            return "runtime counters: none";
        }

        string V(string key) => counters.TryGetValue(key, out var v) ? v.ToString("N0", CultureInfo.InvariantCulture) : "?";
        return $"runtime counters: peak GC heap {V("peak gc-heap-size")} MB (gen0 {V("peak gen-0-size")}, gen1 {V("peak gen-1-size")}, gen2 {V("peak gen-2-size")}, LOH {V("peak loh-size")}, POH {V("peak poh-size")} MB), "
            + $"peak GC committed {V("peak gc-committed")} MB, peak working set {V("peak working-set")} MB; allocated {V("sum alloc-rate")} MB; GCs gen0 {V("sum gen-0-gc-count")} gen1 {V("sum gen-1-gc-count")} gen2 {V("sum gen-2-gc-count")}; peak time in GC {V("peak time-in-gc")}%";
    }

    public void Dispose()
    {
        try
        {
            _session.Stop();
            _processing.Wait(TimeSpan.FromSeconds(5));
        }
        catch (Exception ex) when (ex is ServerNotAvailableException or IOException or AggregateException or ObjectDisposedException or TimeoutException)
        {
        }

        _session.Dispose();
    }
}

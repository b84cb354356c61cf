using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Tests;

/// <summary>The bench's reading of the runtime's JIT log (DOTNET_JitStdOutFile with DOTNET_JitDisasmSummary=1) for a measured window.</summary>
public sealed class JitWindowLogTests
{
    [Fact]
    public void Summarize_JitDisasmSummaryLines_CountsMethodsByTierAndNamespace()
    {
        string[] lines =
        [
            "   1: JIT compiled SmartCity.Telemetry.Alerting.Engine.AlertEngine:Observe(SmartCity.Telemetry.Devices.Reading):this [Tier1, IL size=412, code size=1210]",
            "   2: JIT compiled SmartCity.Telemetry.Alerting.Rules.ThresholdRule:Judge(double):ubyte:this [Instrumented Tier0, IL size=40, code size=150]",
            "   3: JIT compiled System.Collections.Generic.Dictionary`2[System.__Canon,int]:TryInsert(System.__Canon,int,ubyte):ubyte:this [Tier1, IL size=338, code size=900]",
            "   4: JIT compiled SmartCity.Telemetry.Lighting.LightingService:Observe(SmartCity.Telemetry.Devices.Reading):this [Tier1-OSR @0x2a, IL size=120, code size=410]",
            "some other line the runtime wrote",
        ];

        var summary = JitWindowLog.Summarize(lines);

        Assert.StartsWith("JIT log of the window: 4 methods compiled (Tier1 2, ", summary, StringComparison.Ordinal);
        Assert.Contains("Instrumented Tier0 1", summary, StringComparison.Ordinal);
        Assert.Contains("Tier1-OSR @0x2a 1", summary, StringComparison.Ordinal);
        Assert.Contains("SmartCity.Telemetry.Alerting 2", summary, StringComparison.Ordinal);
        Assert.Contains("System.Collections.Generic 1", summary, StringComparison.Ordinal);
        Assert.Contains("SmartCity.Telemetry.Lighting 1", summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Stop_LinesAppendedAfterStart_CopiesOnlyTheWindowsLines()
    {
        var dir = Directory.CreateTempSubdirectory("smartcity-jitlog-").FullName;
        var log = Path.Combine(dir, "jit.txt");
        File.WriteAllText(log, "   1: JIT compiled Warm.Up:Before() [Tier0, IL size=1, code size=2]\n");
        var window = JitWindowLog.TryStart(new Dictionary<string, string> { [JitWindowLog.FileSetting] = log });
        File.AppendAllText(log, "   2: JIT compiled In.The:Window() [Tier1, IL size=1, code size=2]\n");

        var copy = Path.Combine(dir, "window.txt");
        var summary = window!.Stop(copy);

        Assert.Contains("1 methods compiled (Tier1 1)", summary, StringComparison.Ordinal);
        Assert.Equal("   2: JIT compiled In.The:Window() [Tier1, IL size=1, code size=2]\n", File.ReadAllText(copy));
        Assert.Null(JitWindowLog.TryStart(new Dictionary<string, string>()));
        Directory.Delete(dir, recursive: true);
    }
}

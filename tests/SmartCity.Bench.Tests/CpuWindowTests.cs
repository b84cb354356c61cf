using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Tests;

/// <summary>CPU windows over real processes (/proc): a process that exits inside the window keeps its share.</summary>
public sealed class CpuWindowTests
{
    [Fact]
    public async Task Stop_ProcessExitedAfterKeep_KeepsTheCpuItUsed()
    {
        var log = Path.Combine(Path.GetTempPath(), $"cpuwindow-{Guid.NewGuid():N}.log");
        // Busy for a few hundred ms of CPU, then says so and waits for its stdin to close (as the simulator
        // prints its result and exits).
        await using var busy = ChildProcess.Start("sh", ["-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo done=1; read x"], log);
        var window = new CpuWindow(() => new Dictionary<string, IReadOnlyList<int>> { ["simulator"] = [busy.Pid] });
        window.Start();
        await busy.WaitForAsync("done=", TimeSpan.FromMinutes(2));

        window.Keep();
        busy.Release();
        await busy.WaitForExitAsync(TimeSpan.FromMinutes(1));
        var report = window.Stop();

        // Without Keep the exited process read 0 ticks at Stop and its CPU counted as other load.
        Assert.True(report.ProcessPercent["simulator"] > 0, $"simulator {report.ProcessPercent["simulator"]}%");
        File.Delete(log);
    }
}

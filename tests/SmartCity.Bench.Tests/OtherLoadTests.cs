using System.Text.Json;
using SmartCity.Bench;
using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Tests;

/// <summary>
/// The other processes' load of a measurement window, computed from /proc texts recorded on this
/// machine (2 cores; ticks of 10 ms): machine busy minus the measured processes, over all cores.
/// </summary>
public sealed class OtherLoadTests
{
    // /proc/stat at the window's start and end: 300 ticks of the 2 cores elapsed (1.5 s), 250 of them busy
    // (user +200, system +50), idle +50.
    private const string MachineStart = "cpu  1335462 0 175260 461951 2570 0 8779 1135 0 0\ncpu0 661044 0 85355 241924 589 0 3590 583 0 0\ncpu1 674417 0 89905 220028 1981 0 5188 551 0 0\nintr 15480008 0 0\nctxt 211274674\n";
    private const string MachineEnd = "cpu  1335662 0 175310 462001 2570 0 8779 1135 0 0\ncpu0 661144 0 85380 241949 589 0 3590 583 0 0\ncpu1 674517 0 89930 220053 1981 0 5188 551 0 0\nintr 15480180 0 0\nctxt 211274956\n";

    // /proc/PID/stat of the worker (utime 100 -> 180, stime 20 -> 30: 90 ticks) and of a publisher whose
    // command name holds a space and parentheses (utime 40 -> 90, stime 5 -> 15: 60 ticks).
    private const string WorkerStart = "23097 (SmartCity.Worke) S 23095 23097 23097 0 -1 4194560 7453 125362 0 69 100 20 199 46 20 0 1 0 993370 5263360 1018 18446744073709551615";
    private const string WorkerEnd = "23097 (SmartCity.Worke) S 23095 23097 23097 0 -1 4194560 7453 125362 0 69 180 30 199 46 20 0 1 0 993370 5263360 1018 18446744073709551615";
    private const string PublisherStart = "23150 (dotnet (pub) x) R 23095 23150 23097 0 -1 4194560 7453 125362 0 69 40 5 7 3 20 0 1 0 993370 5263360 1018 18446744073709551615";
    private const string PublisherEnd = "23150 (dotnet (pub) x) R 23095 23150 23097 0 -1 4194560 7453 125362 0 69 90 15 9 4 20 0 1 0 993370 5263360 1018 18446744073709551615";

    [Fact]
    public void ParseMachine_RecordedProcStat_BusyAndTotalOverAllCores()
    {
        var start = OtherLoad.ParseMachine(MachineStart);
        var end = OtherLoad.ParseMachine(MachineEnd);

        Assert.Equal(250, end.Busy - start.Busy);
        Assert.Equal(300, end.Total - start.Total);
        Assert.Equal(1135, end.Steal);
    }

    [Fact]
    public void ParseProcessTicks_CommandNameWithParentheses_UtimePlusStime()
    {
        Assert.Equal(60, OtherLoad.ParseProcessTicks(PublisherEnd, false) - OtherLoad.ParseProcessTicks(PublisherStart, false));
        // With the waited-for children (a shell around mosquitto_sub): cutime +2, cstime +1.
        Assert.Equal(63, OtherLoad.ParseProcessTicks(PublisherEnd, true) - OtherLoad.ParseProcessTicks(PublisherStart, true));
    }

    [Fact]
    public void Percent_OthersTookAThirdOfTheCores_NotForClaims()
    {
        var measured = OtherLoad.ParseProcessTicks(WorkerEnd, false) - OtherLoad.ParseProcessTicks(WorkerStart, false)
            + OtherLoad.ParseProcessTicks(PublisherEnd, false) - OtherLoad.ParseProcessTicks(PublisherStart, false);

        var percent = OtherLoad.Percent(OtherLoad.ParseMachine(MachineStart), OtherLoad.ParseMachine(MachineEnd), measured);

        // 250 busy - 150 ours = 100 of 300 ticks.
        Assert.Equal(33.3, percent);
        Assert.False(OtherLoad.IsForClaims(percent));
    }

    [Fact]
    public void Percent_OthersWithinTenPercent_ForClaims()
    {
        // Only 160 ticks of the worker unaccounted for: 250 - 160 - 60 = 30 of 300 ticks = 10.0 % (the limit itself is allowed).
        var percent = OtherLoad.Percent(OtherLoad.ParseMachine(MachineStart), OtherLoad.ParseMachine(MachineEnd), 220);

        Assert.Equal(10.0, percent);
        Assert.True(OtherLoad.IsForClaims(percent));
        Assert.False(OtherLoad.IsForClaims(OtherLoad.Percent(OtherLoad.ParseMachine(MachineStart), OtherLoad.ParseMachine(MachineEnd), 219)));
    }

    [Fact]
    public void Percent_OursSampledAfterTheMachine_ClampedAtZero()
    {
        Assert.Equal(0, OtherLoad.Percent(OtherLoad.ParseMachine(MachineStart), OtherLoad.ParseMachine(MachineEnd), 260));
        Assert.Equal(0, OtherLoad.Percent(OtherLoad.ParseMachine(MachineStart), OtherLoad.ParseMachine(MachineStart), 0));
    }

    // A paced window on a quiet tickless machine: 1.5 s of wall-clock time (/proc/uptime) on 2 cores = 300
    // ticks, but /proc/stat advanced only 250: idle +100 (exact), user +100 and system +50 (only where a
    // tick landed). The measured processes' exact utime+stime add up to 180 ticks.
    private const string ShortMachineEnd = "cpu  1335562 0 175310 462051 2570 0 8779 1135 0 0\ncpu0 661094 0 85380 241999 589 0 3590 583 0 0\ncpu1 674467 0 89930 220052 1981 0 5188 551 0 0\n";
    private const string UptimeStart = "20000.00 39000.00\n";
    private const string UptimeEnd = "20001.50 39001.00\n";

    [Fact]
    public void ParseMachine_ShortWakeUpsMissedByTheTick_BusyIsWallClockMinusIdle()
    {
        var start = OtherLoad.ParseMachine(MachineStart, UptimeStart, 2);
        var end = OtherLoad.ParseMachine(ShortMachineEnd, UptimeEnd, 2);

        Assert.Equal(300, end.Total - start.Total);
        Assert.Equal(200, end.Busy - start.Busy);
        // 200 busy - 180 ours = 20 of 300 ticks; /proc/stat alone says 150 busy, less than ours.
        Assert.Equal(6.7, OtherLoad.Percent(start, end, 180));
        Assert.Equal(0, OtherLoad.Percent(OtherLoad.ParseMachine(MachineStart), OtherLoad.ParseMachine(ShortMachineEnd), 180));
    }

    [Fact]
    public void BenchReport_WindowAboveTheLimit_MarkedNotForClaimsInTextAndJson()
    {
        var quiet = new CpuReport(1.5, new Dictionary<string, double> { ["influxd"] = 150 }, 160, 0, 200, 3.3);
        var busy = new CpuReport(1.5, new Dictionary<string, double> { ["influxd"] = 100 }, 166.7, 0, 200, 33.3);
        var report = new BenchReport { Machine = new MachineInfo("d", "cpu", 2, 1, "k", "n", "m", "i", 0), Command = "c", PublisherDescription = "p" };
        report.Influx = new InfluxCeilingResult(1000, 500, [new InfluxRun(1, 1.5, 666, 1000, quiet)]);
        Assert.True(report.ForClaims);
        Assert.Contains("for claims", report.LoadVerdict(), StringComparison.Ordinal);
        Assert.DoesNotContain("NOT FOR CLAIMS", quiet.Describe(), StringComparison.Ordinal);

        report.Influx = new InfluxCeilingResult(1000, 500, [new InfluxRun(1, 1.5, 666, 1000, quiet), new InfluxRun(2, 1.5, 666, 1000, busy)]);

        Assert.False(report.ForClaims);
        Assert.Contains("NOT FOR CLAIMS", report.LoadVerdict(), StringComparison.Ordinal);
        Assert.Contains("influx-ceiling 2 writer(s) 33.3%", report.LoadVerdict(), StringComparison.Ordinal);
        Assert.Contains("NOT FOR CLAIMS", busy.Describe(), StringComparison.Ordinal);
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(report));
        Assert.False(json.RootElement.GetProperty("ForClaims").GetBoolean());
        Assert.Equal(33.3, json.RootElement.GetProperty("WindowLoads")[1].GetProperty("OtherLoadPercent").GetDouble());
        Assert.False(json.RootElement.GetProperty("Influx").GetProperty("Runs")[1].GetProperty("Cpu").GetProperty("ForClaims").GetBoolean());
    }
}

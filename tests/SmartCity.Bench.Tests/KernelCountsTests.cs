using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Tests;

/// <summary>perf stat's CSV totals of a worker (recorded on this machine), per message.</summary>
public sealed class KernelCountsTests
{
    private const string Recorded = "# started on Mon Dec  7 09:50:01 2026\n\n"
        + "52910,,context-switches,9871234567,100.00,,\n"
        + "1000,,syscalls:sys_enter_fsync,9871234567,100.00,,\n"
        + "<not counted>,,syscalls:sys_enter_fdatasync,0,100.00,,\n"
        + "3000,,syscalls:sys_enter_sendmsg,9871234567,100.00,,\n"
        + "17000,,syscalls:sys_enter_sendto,9871234567,100.00,,\n"
        + "21000,,syscalls:sys_enter_write,9871234567,100.00,,\n"
        + "80400,,syscalls:sys_enter_futex,9871234567,100.00,,\n";

    [Fact]
    public void PerMessage_RecordedPerfStat_EventsDividedByMessages()
    {
        var counts = KernelCounts.Parse(Recorded)!;
        var perMessage = KernelCounts.PerMessage(counts, 20_000);

        Assert.Equal(0, counts["fdatasync"]);
        Assert.Equal(2.646, perMessage["context switches"]); // 52,910 / 20,000, rounded to 3 decimals
        Assert.Equal(0.05, perMessage["fsyncs"]);
        Assert.Equal(1.0, perMessage["socket sends"]);
        Assert.Equal(4.02, perMessage["futex calls"]);
        Assert.Equal("per message: 2.646 context switches, 0.05 fsyncs, 1 socket sends, 1.05 writes, 4.02 futex calls", KernelCounts.Describe(perMessage));
    }

    [Fact]
    public void Parse_NoKnownEvent_Null()
    {
        Assert.Null(KernelCounts.Parse("perf: permission denied\n"));
    }
}

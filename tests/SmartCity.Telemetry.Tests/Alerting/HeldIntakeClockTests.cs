using SmartCity.Telemetry.Alerting;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The device clock and the worker's own stall: while the intake holds a received, unacknowledged
/// message (Receive Maximum reached while a slow fsync runs) the broker sends nothing more, so the
/// silence is the worker's, not the devices'. Once nothing is held, silence counts again.
/// </summary>
public sealed class HeldIntakeClockTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static List<AlertTransition> OfflineRaised(AlertTestKit kit) =>
        [.. kit.Seen.Where(t => t.Kind == AlertTransitionKind.Raised && t.Alert.Rule == "device_offline")];

    /// <summary>Two street lights (every 5 minutes: offline after 15 minutes of silence on both clocks) report at the kit's start.</summary>
    private static AlertTestKit TwoLamps(string second)
    {
        var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now, "lamp-1").Field("voltage_v", 230.0), "streetlight");
        kit.Observe(Lamp(kit.Now, second).Field("voltage_v", 230.0), "streetlight");
        return kit;
    }

    private static void TickEveryMinute(AlertTestKit kit, int minutes)
    {
        for (var i = 0; i < minutes; i++)
        {
            kit.Advance(Minute);
            kit.Tick();
        }
    }

    [Fact]
    public void Tick_IntakeHoldsMessagesForTwiceTheOfflineLimit_RaisesNoDevice_OnceNothingIsHeld_TheSilentAreRaised()
    {
        using var kit = TwoLamps("lamp-2");
        var start = kit.Now;

        // The worker holds a message it cannot acknowledge yet for 30 minutes, ticking every minute.
        kit.Held = 1;
        TickEveryMinute(kit, 30);
        Assert.Empty(OfflineRaised(kit));

        // Nothing held any more, and nothing arrives: the city's silence counts from here ...
        kit.Held = 0;
        TickEveryMinute(kit, 14);
        Assert.Empty(OfflineRaised(kit));

        // ... and past the limit the really silent lamps are raised, each once.
        TickEveryMinute(kit, 3);

        var raised = OfflineRaised(kit);
        Assert.Equal(["lamp-1", "lamp-2"], raised.Select(t => t.Alert.DeviceId).Order(StringComparer.Ordinal));
        Assert.All(raised, t => Assert.Equal(start, t.Entry.DeviceTime));
    }

    [Fact]
    public void Tick_IntakeHoldsMessagesWhileOthersArrive_ADeviceSilentInTheStreamIsStillRaised()
    {
        // Held messages pause only the idle run of the clock: messages that do arrive still move it,
        // so a device the stream has gone far past is silent even while something is held.
        using var kit = TwoLamps("lamp-dead");
        kit.Held = 1;
        for (var i = 1; i <= 5; i++)
        {
            kit.Advance(TimeSpan.FromMinutes(5));
            kit.Observe(Lamp(kit.Now, "lamp-1").Field("voltage_v", 230.0), "streetlight");
            kit.Tick();
        }

        var raised = Assert.Single(OfflineRaised(kit));
        Assert.Equal("lamp-dead", raised.Alert.DeviceId);
    }
}

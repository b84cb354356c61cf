using SmartCity.Telemetry.Alerting;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>Redeliveries, messages close together, late and out-of-order ones never duplicate or flip an alert.</summary>
public sealed class OrderingTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void Observe_ExactDuplicate_IsIgnored()
    {
        using var kit = new AlertTestKit();
        var t0 = kit.Now;
        kit.Observe(Lamp(t0).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(5 * Minute);
        var raisedPoint = Lamp(kit.Now).Field("voltage_v", 255.0);
        Assert.Single(kit.Observe(raisedPoint, "streetlight"));

        // The broker redelivers both (QoS 1 after a reconnect): nothing new.
        Assert.Empty(kit.Observe(Lamp(t0).Field("voltage_v", 255.0), "streetlight"));
        Assert.Empty(kit.Observe(raisedPoint, "streetlight"));
        Assert.Single(kit.Engine.Alerts());
    }

    [Fact]
    public void Observe_OlderPointAfterRaise_DoesNotResolve()
    {
        using var kit = new AlertTestKit();
        var t0 = kit.Now;
        kit.Observe(Lamp(t0).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(5 * Minute);
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");

        // A reading from before the raise arrives late, with a value past the clear level.
        Assert.Empty(kit.Observe(Lamp(t0.AddMinutes(2)).Field("voltage_v", 230.0), "streetlight"));
        Assert.Single(kit.Engine.OpenAlerts());
    }

    [Fact]
    public void Observe_OlderPointWhilePending_DoesNotRestartTheDuration()
    {
        using var kit = new AlertTestKit();
        var t0 = kit.Now;
        kit.Observe(Lamp(t0).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(3 * Minute);
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");
        Assert.Empty(kit.Observe(Lamp(t0.AddMinutes(1)).Field("voltage_v", 230.0), "streetlight")); // late and low
        kit.Advance(2 * Minute);

        Assert.Single(kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight"));
    }

    [Fact]
    public void Observe_OutOfOrderBurst_RaisesAsInDeviceTimeOrder()
    {
        // Readings 0..5 min arrive shuffled: the engine judges device time, so only the newest counts.
        using var kit = new AlertTestKit();
        var t0 = kit.Now;
        kit.Advance(6 * Minute);
        var transitions = new List<AlertTransition>();
        foreach (var m in new[] { 5, 0, 3, 1 })
        {
            transitions.AddRange(kit.Observe(Lamp(t0.AddMinutes(m)).Field("voltage_v", 255.0), "streetlight"));
        }

        Assert.Empty(transitions); // 5 came first; 0 alone would have started the 5 minutes, but it is late
        kit.Advance(5 * Minute);
        Assert.Single(kit.Observe(Lamp(t0.AddMinutes(10)).Field("voltage_v", 255.0), "streetlight"));
    }

    [Fact]
    public void Observe_EventsCloseTogether_SameTimestampTwice_OneAlert()
    {
        using var kit = new AlertTestKit();
        Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        Assert.Empty(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        Assert.Empty(kit.Observe(DoorEvent(kit.Now.AddMilliseconds(-5), "forced"), "door_contact"));

        var alert = Assert.Single(kit.Engine.Alerts());
        Assert.Equal(1, alert.Occurrences);
    }

    [Fact]
    public void Observe_DifferentRulesOfOneDevice_AreJudgedApart()
    {
        using var kit = new AlertTestKit();
        Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        Assert.Single(kit.Observe(DoorEvent(kit.Now, "tamper"), "door_contact")); // same instant, another rule
        Assert.Equal(["door_forced", "tamper"], kit.Engine.OpenAlerts().Select(a => a.Rule).Order());
    }
}

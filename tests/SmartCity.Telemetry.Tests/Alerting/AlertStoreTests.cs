using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.State;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>State survives a worker restart: open alerts continue, nothing is raised twice.</summary>
public sealed class AlertStoreTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    [Fact]
    public void Restart_OpenAlertAndHistory_AreContinued_NotRaisedAgain()
    {
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet")).Alert;
        kit.Engine.Acknowledge(raised.Id, "ops:anna", "on it");
        kit.Advance(Minute);

        var engine = kit.Restart();

        var reloaded = Assert.Single(engine.OpenAlerts());
        Assert.Equal(raised.Id, reloaded.Id);
        Assert.Equal(("ops:anna", "on it"), (reloaded.AcknowledgedBy, reloaded.AcknowledgedComment));
        Assert.Equal([AlertTransitionKind.Raised, AlertTransitionKind.Acknowledged], reloaded.History.Select(h => h.Kind));
        Assert.Empty(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet")); // still failing: same alert
        kit.Advance(Minute);
        var resolved = Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", true), "lighting_cabinet"));
        Assert.Equal((raised.Id, AlertTransitionKind.Resolved), (resolved.Alert.Id, resolved.Kind));
    }

    [Fact]
    public void Restart_RedeliveredPointsAfterCrash_DoNotDuplicate()
    {
        using var kit = new AlertTestKit();
        var t0 = kit.Now;
        kit.Observe(Lamp(t0).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(5 * Minute);
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");

        kit.Restart();

        // The broker redelivers what the old worker had not acknowledged.
        Assert.Empty(kit.Observe(Lamp(t0).Field("voltage_v", 255.0), "streetlight"));
        Assert.Empty(kit.Observe(Lamp(t0.AddMinutes(5)).Field("voltage_v", 255.0), "streetlight"));
        Assert.Single(kit.Engine.Alerts());
    }

    [Fact]
    public void Restart_PendingDurationAndDeadmanTimers_Survive()
    {
        using var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(3 * Minute);
        kit.Engine.Save(); // the host saves on stop and on each tick

        kit.Restart();
        kit.Advance(2 * Minute);
        Assert.Equal("over_voltage", Assert.Single(kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight")).Alert.Rule);
        kit.Advance(TimeSpan.FromMinutes(15));
        Assert.Contains(kit.Tick(), t => t.Alert.Rule == "device_offline");
    }

    [Fact]
    public void Crash_AlertsSavedAtOnce_DevicesLivenessAtMostOnceAMinuteInItsOwnFile()
    {
        using var kit = new AlertTestKit();
        var store = new AlertStore(kit.Options.StateFile);
        kit.Observe(Lamp(kit.Now, device: "lamp-1").Field("voltage_v", 230.0), "streetlight");
        kit.Tick(); // the first save of the devices
        Assert.Contains("lamp-1", File.ReadAllText(store.DevicesPath), StringComparison.Ordinal);

        // A new device within the minute: not yet in the devices file; an alert: in the main file at once.
        kit.Advance(TimeSpan.FromSeconds(10));
        kit.Observe(Lamp(kit.Now, device: "lamp-2").Field("voltage_v", 230.0), "streetlight");
        var raised = Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet")).Alert;
        kit.Tick();
        Assert.DoesNotContain("lamp-2", File.ReadAllText(store.DevicesPath), StringComparison.Ordinal);
        Assert.DoesNotContain("lamp-1", File.ReadAllText(store.Path), StringComparison.Ordinal); // liveness stays out of the main file

        // Crash (no Save): the alert is continued, not raised again.
        kit.Restart();
        Assert.Equal(raised.Id, Assert.Single(kit.Engine.OpenAlerts()).Id);
        Assert.Empty(kit.Observe(Cabinet(kit.Now.AddSeconds(1)).Field("mains_present", false), "lighting_cabinet"));

        kit.Advance(Minute);
        kit.Observe(Lamp(kit.Now, device: "lamp-2").Field("voltage_v", 230.0), "streetlight");
        kit.Tick();
        Assert.Contains("lamp-2", File.ReadAllText(store.DevicesPath), StringComparison.Ordinal);
    }

    [Fact]
    public void Save_ReplacesTheFileAtomically_LeavesNoTemporaryFile()
    {
        using var kit = new AlertTestKit();
        kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact");

        Assert.True(File.Exists(kit.Options.StateFile));
        Assert.False(File.Exists(kit.Options.StateFile + ".tmp"));
    }

    [Fact]
    public void Load_CorruptFile_StopsTheStartNamingTheFile()
    {
        using var kit = new AlertTestKit();
        File.WriteAllText(kit.Options.StateFile, "{ not json");

        var ex = Assert.Throws<InvalidDataException>(() => kit.Restart());
        Assert.Contains(kit.Options.StateFile, ex.Message);
    }

    [Fact]
    public void Tick_ResolvedAlertsOlderThanRetention_AreForgotten()
    {
        using var kit = new AlertTestKit(configure: o => o.KeepResolvedFor = TimeSpan.FromHours(1));
        var alert = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact")).Alert;
        kit.Engine.Resolve(alert.Id, "ops:anna", null);
        kit.Advance(TimeSpan.FromMinutes(59));
        kit.Tick();
        Assert.NotNull(kit.Engine.Find(alert.Id));
        kit.Advance(TimeSpan.FromMinutes(2));
        kit.Tick();
        Assert.Null(kit.Engine.Find(alert.Id));
    }

    [Fact]
    public void Tick_ResolvedAlertForgotten_ReportedAsRemovedOnce()
    {
        // The MQTT state notifier clears the retained topic on this transition; without it the broker keeps every alert ever raised.
        using var kit = new AlertTestKit(configure: o => o.KeepResolvedFor = TimeSpan.FromHours(1));
        var alert = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact")).Alert;
        kit.Engine.Resolve(alert.Id, "ops:anna", null);
        kit.Advance(TimeSpan.FromMinutes(61));

        var removed = Assert.Single(kit.Tick(), t => t.Kind == AlertTransitionKind.Removed);   // the silent door's offline alert comes too
        Assert.Equal((alert.Id, AlertState.Resolved), (removed.Alert.Id, removed.Alert.State));
        Assert.DoesNotContain(kit.Tick(), t => t.Kind == AlertTransitionKind.Removed);
    }
}

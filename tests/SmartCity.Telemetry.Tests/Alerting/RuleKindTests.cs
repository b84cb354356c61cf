using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Devices;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>Each rule kind of the built-in profiles, on a fake clock.</summary>
public sealed class RuleKindTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    // over_voltage (streetlight): voltage_v above 253, clear 248, for 00:05:00, always.
    [Fact]
    public void Threshold_ConditionHeldForDuration_RaisesOnceAfterFor()
    {
        using var kit = new AlertTestKit();
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight"));
        kit.Advance(4 * Minute);
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("voltage_v", 256.0), "streetlight"));
        kit.Advance(Minute);

        var t = Assert.Single(kit.Observe(Lamp(kit.Now).Field("voltage_v", 257.0), "streetlight"));

        Assert.Equal(AlertTransitionKind.Raised, t.Kind);
        Assert.Equal("over_voltage", t.Alert.Rule);
        Assert.Equal(AlertSeverity.Warning, t.Alert.Severity);
        Assert.Equal(257.0, t.Entry.Value);
        Assert.Equal(("north", "park", "lighting"), (t.Alert.District, t.Alert.Site, t.Alert.Sector));
        kit.Advance(Minute);
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("voltage_v", 258.0), "streetlight"));
        Assert.Single(kit.Engine.OpenAlerts());
    }

    [Fact]
    public void Threshold_DipsBelowRaiseLevelBeforeFor_RestartsTheDuration()
    {
        using var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(3 * Minute);
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 252.0), "streetlight"); // within limits: the 5 minutes start again
        kit.Advance(Minute);
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(4 * Minute);

        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight"));
        kit.Advance(Minute);
        Assert.Single(kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight"));
    }

    [Fact]
    public void Threshold_Hysteresis_StaysOpenBetweenClearAndRaiseLevels_ResolvesPastClear()
    {
        using var kit = new AlertTestKit(configure: o => o.Flapping.MaxTransitions = 100);
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(5 * Minute);
        var raised = Assert.Single(kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight"));

        kit.Advance(Minute);
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("voltage_v", 250.0), "streetlight"));
        kit.Advance(Minute);
        Assert.Empty(kit.Observe(Lamp(kit.Now).Field("voltage_v", 248.0), "streetlight")); // at the clear level is not past it
        kit.Advance(Minute);
        var resolved = Assert.Single(kit.Observe(Lamp(kit.Now).Field("voltage_v", 247.9), "streetlight"));

        Assert.Equal(AlertTransitionKind.Resolved, resolved.Kind);
        Assert.Equal(raised.Alert.Id, resolved.Alert.Id);
        Assert.Equal(AlertState.Resolved, resolved.Alert.State);
        Assert.Null(resolved.Alert.ResolvedBy);
        Assert.Equal(kit.Now, resolved.Alert.ResolvedAt);
        Assert.Equal([AlertTransitionKind.Raised, AlertTransitionKind.Resolved], resolved.Alert.History.Select(h => h.Kind));
    }

    [Fact]
    public void Threshold_BoolField_FalseRaisesAtOnce_TrueResolves()
    {
        // mains_loss (lighting_cabinet): mains_present below 0.5 (false), clear 0.5, no for.
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet"));
        Assert.Equal(("mains_loss", AlertSeverity.Critical, 0.0), (raised.Alert.Rule, raised.Alert.Severity, raised.Entry.Value));

        kit.Advance(Minute);
        Assert.Empty(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet"));
        kit.Advance(Minute);
        Assert.Equal(AlertTransitionKind.Resolved, Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", true), "lighting_cabinet")).Kind);
    }

    [Fact]
    public void Threshold_DeviceReportsOnlyOnChange_TickRaisesWhenForElapses()
    {
        using var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 255.0), "streetlight");
        kit.Advance(4 * Minute);
        Assert.Empty(kit.Tick());
        kit.Advance(Minute);

        var t = Assert.Single(kit.Tick());

        Assert.Equal(("over_voltage", 255.0), (t.Alert.Rule, t.Entry.Value));
    }

    [Fact]
    public void Flag_TrueRaises_FalseResolves()
    {
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(Lamp(kit.Now).Field("fault_lamp_failure", true).Field("fault_driver_failure", false), "streetlight"));
        Assert.Equal("lamp_failure", raised.Alert.Rule);

        kit.Advance(Minute);
        var resolved = Assert.Single(kit.Observe(Lamp(kit.Now).Field("fault_lamp_failure", false), "streetlight"));
        Assert.Equal((AlertTransitionKind.Resolved, raised.Alert.Id), (resolved.Kind, resolved.Alert.Id));
    }

    // stuck_sensor (classroom_env): rate of co2_ppm below 0.001 per minute for 00:20:00.
    [Fact]
    public void Rate_SameReadingForTwentyMinutes_RaisesStuckSensor_AChangeResolvesIt()
    {
        using var kit = new AlertTestKit(configure: o => o.Flapping.MaxTransitions = 100);
        for (var i = 0; i < 4; i++)
        {
            Assert.Empty(kit.Observe(Classroom(kit.Now).Field("co2_ppm", 812.0), "classroom_env"));
            kit.Advance(5 * Minute);
        }

        var raised = Assert.Single(kit.Observe(Classroom(kit.Now).Field("co2_ppm", 812.0), "classroom_env"));
        Assert.Equal(("stuck_sensor", 0.0), (raised.Alert.Rule, raised.Entry.Value));

        kit.Advance(5 * Minute);
        var resolved = Assert.Single(kit.Observe(Classroom(kit.Now).Field("co2_ppm", 830.0), "classroom_env"));
        Assert.Equal(AlertTransitionKind.Resolved, resolved.Kind);
        Assert.Equal(18.0 / 5, resolved.Entry.Value!.Value, 6);
    }

    [Fact]
    public void Rate_SteadilyFallingValue_IsNotStuck()
    {
        // The size of the change counts: a falling CO2 has a negative rate but is not stuck.
        using var kit = new AlertTestKit();
        for (var i = 0; i < 10; i++)
        {
            Assert.Empty(kit.Observe(Classroom(kit.Now).Field("co2_ppm", 1000.0 - (10 * i)), "classroom_env"));
            kit.Advance(5 * Minute);
        }
    }

    // door_forced (door_contact): event forced, critical, no for.
    [Fact]
    public void Event_RaisesAtOnce_ABurstStaysOneAlert_ANewEventAfterResolveIsANewAlert()
    {
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        Assert.Equal(("door_forced", AlertSeverity.Critical), (raised.Alert.Rule, raised.Alert.Severity));

        kit.Advance(TimeSpan.FromSeconds(20));
        Assert.Empty(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        Assert.Empty(kit.Observe(DoorEvent(kit.Now.AddSeconds(1), "opened"), "door_contact"));
        Assert.Equal(2, kit.Engine.Find(raised.Alert.Id)!.Occurrences);
        Assert.Single(kit.Engine.OpenAlerts());

        Assert.True(kit.Engine.Resolve(raised.Alert.Id, "ops:anna", "door checked").Ok);
        kit.Advance(Minute);
        var second = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        Assert.NotEqual(raised.Alert.Id, second.Alert.Id);
    }

    [Fact]
    public void Offline_ThreeIntervalsOfSilence_Raises_AMessageResolves()
    {
        // streetlight reports every 5 minutes: offline after 15.
        using var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 230.0), "streetlight");
        kit.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.Empty(kit.Tick());
        kit.Advance(TimeSpan.FromSeconds(1));

        var raised = Assert.Single(kit.Tick());
        Assert.Equal(("device_offline", AlertSeverity.Major), (raised.Alert.Rule, raised.Alert.Severity));
        kit.Advance(Minute);
        Assert.Empty(kit.Tick()); // still offline: one alert, not one per tick

        kit.Advance(Minute);
        var resolved = Assert.Single(kit.Observe(Lamp(kit.Now).Field("voltage_v", 230.0), "streetlight"));
        Assert.Equal((AlertTransitionKind.Resolved, raised.Alert.Id), (resolved.Kind, resolved.Alert.Id));
    }

    [Fact]
    public void Offline_LastWill_RaisesAtOnce_OnlyOnce()
    {
        using var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 230.0), "streetlight");
        kit.Advance(TimeSpan.FromSeconds(5));

        var raised = Assert.Single(kit.Record(kit.Engine.DeviceWentOffline("lamp-1", kit.Now)));
        Assert.Equal("device_offline", raised.Alert.Rule);
        Assert.Equal(kit.Now, raised.Alert.RaisedAt);
        Assert.Empty(kit.Engine.DeviceWentOffline("lamp-1", kit.Now.AddSeconds(1)));
        Assert.Empty(kit.Engine.DeviceWentOffline("never-seen", kit.Now));
    }

    [Fact]
    public void Offline_LateMessageFromBeforeTheSilence_DoesNotResolve()
    {
        using var kit = new AlertTestKit();
        var before = kit.Now;
        kit.Observe(Lamp(before).Field("voltage_v", 230.0), "streetlight");
        kit.Advance(TimeSpan.FromMinutes(1));
        kit.Engine.DeviceWentOffline("lamp-1", kit.Now);

        Assert.Empty(kit.Observe(Lamp(before).Field("voltage_v", 230.0), "streetlight")); // a redelivery
        Assert.Empty(kit.Observe(Lamp(before.AddSeconds(-30)).Field("voltage_v", 230.0), "streetlight")); // older still
        Assert.Single(kit.Engine.OpenAlerts());
    }
    [Fact]
    public void Offline_BirthNewerThanTheSilence_Resolves_ARetainedOldBirthDoesNot()
    {
        using var kit = new AlertTestKit();
        var identity = new DeviceIdentity("lamp-1", "lighting", "north", "park", "streetlight");
        var oldBirth = kit.Now.AddMinutes(-30);
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 230.0), "streetlight");
        kit.Advance(TimeSpan.FromMinutes(1));
        var raised = Assert.Single(kit.Record(kit.Engine.DeviceWentOffline("lamp-1", kit.Now)));

        // The broker hands the retained birth of half an hour ago to a reconnecting worker: not a sign of life.
        Assert.Empty(kit.Record(kit.Engine.DeviceCameOnline(identity, "streetlight", oldBirth)));
        Assert.Single(kit.Engine.OpenAlerts());

        kit.Advance(TimeSpan.FromMinutes(2));
        var resolved = Assert.Single(kit.Record(kit.Engine.DeviceCameOnline(identity, "streetlight", kit.Now)));
        Assert.Equal((AlertTransitionKind.Resolved, raised.Alert.Id, (string?)null), (resolved.Kind, resolved.Alert.Id, resolved.Entry.By));
        Assert.Empty(kit.Engine.OpenAlerts());

        // A second birth (the controller rebooted again) with nothing open changes nothing.
        Assert.Empty(kit.Engine.DeviceCameOnline(identity, "streetlight", kit.Now.AddSeconds(5)));
    }

    [Fact]
    public void Offline_DeviceRemoved_OpenAlertResolves_AndSilenceRaisesNothingAfterwards()
    {
        // Issue 24 item 3: a decommissioned device (its retained birth cleared) must not go offline.
        using var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now).Field("voltage_v", 230.0), "streetlight");
        kit.Observe(Lamp(kit.Now, device: "lamp-2").Field("voltage_v", 230.0), "streetlight");
        kit.Advance(TimeSpan.FromMinutes(1));
        var raised = Assert.Single(kit.Record(kit.Engine.DeviceWentOffline("lamp-1", kit.Now)));

        var resolved = Assert.Single(kit.Record(kit.Engine.DeviceRemoved("lamp-1")));
        Assert.Equal((AlertTransitionKind.Resolved, raised.Alert.Id), (resolved.Kind, resolved.Alert.Id));
        Assert.Contains("decommissioned", resolved.Entry.Comment, StringComparison.Ordinal);
        Assert.Empty(kit.Engine.DeviceRemoved("never-seen"));

        kit.Advance(TimeSpan.FromHours(2));
        var offline = Assert.Single(kit.Tick()); // only the device still in service
        Assert.Equal(("lamp-2", "device_offline"), (offline.Alert.DeviceId, offline.Alert.Rule));
        Assert.Empty(kit.Engine.DeviceWentOffline("lamp-1", kit.Now));
    }

    [Fact]
    public void Offline_DeviceMetOnlyByItsBirth_GoesOfflineAfterThreeSilentIntervals()
    {
        using var kit = new AlertTestKit();
        Assert.Empty(kit.Engine.DeviceCameOnline(new DeviceIdentity("lamp-9", "lighting", "north", "park", "streetlight"), "streetlight", kit.Now));
        kit.Advance(TimeSpan.FromMinutes(15));
        var raised = Assert.Single(kit.Tick());
        Assert.Equal(("lamp-9", "device_offline"), (raised.Alert.DeviceId, raised.Alert.Rule));
    }

    // video_loss (camera): raised by video_loss, resolved by video_restored.
    [Fact]
    public void Event_ClearEvent_ResolvesTheOpenAlert_ALateClearFromBeforeTheLossDoesNot()
    {
        using var kit = new AlertTestKit();
        var lossAt = kit.Now;
        var raised = Assert.Single(kit.Observe(CameraEvent(lossAt, "video_loss"), "camera"));
        Assert.Equal("video_loss", raised.Alert.Rule);

        // A video_restored stamped before the loss (late, out of order) must not close it.
        Assert.Empty(kit.Observe(CameraEvent(lossAt.AddSeconds(-10), "video_restored"), "camera"));
        Assert.Single(kit.Engine.OpenAlerts());

        kit.Advance(TimeSpan.FromMinutes(3));
        var resolved = Assert.Single(kit.Observe(CameraEvent(kit.Now, "video_restored"), "camera"));
        Assert.Equal((AlertTransitionKind.Resolved, raised.Alert.Id), (resolved.Kind, resolved.Alert.Id));
        Assert.Null(resolved.Alert.ResolvedBy);
        Assert.Empty(kit.Observe(CameraEvent(kit.Now, "video_restored"), "camera")); // its redelivery: nothing to resolve
    }

    [Fact]
    public void Event_WithoutClearEvent_StaysOpenUntilAnOperatorResolves()
    {
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact"));
        kit.Advance(Minute);
        Assert.Empty(kit.Observe(DoorEvent(kit.Now, "closed"), "door_contact"));
        Assert.True(kit.Engine.Find(raised.Alert.Id)!.IsOpen);

        // door_held_open, on the same door, is cleared by the door closing.
        var held = Assert.Single(kit.Observe(DoorEvent(kit.Now.AddSeconds(1), "held_open"), "door_contact"));
        var closed = Assert.Single(kit.Observe(DoorEvent(kit.Now.AddSeconds(2), "closed"), "door_contact"));
        Assert.Equal((AlertTransitionKind.Resolved, held.Alert.Id), (closed.Kind, closed.Alert.Id));
        Assert.True(kit.Engine.Find(raised.Alert.Id)!.IsOpen);
    }

    // lamp_dark_at_night (streetlight) is inhibited by lamp_failure and driver_failure on the same lamp.
    [Fact]
    public void Inhibited_ALampReportingItsFailureIsNotAlsoDark_UntilTheFailureResolvesWhileStillDark()
    {
        var night = new DateTimeOffset(2026, 11, 25, 0, 0, 0, TimeSpan.Zero);
        using var kit = new AlertTestKit(start: night);
        var failure = Assert.Single(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0).Field("fault_lamp_failure", true), "streetlight"));
        Assert.Equal("lamp_failure", failure.Alert.Rule);
        for (var i = 0; i < 4; i++)
        {
            kit.Advance(5 * Minute);
            Assert.Empty(kit.Observe(Lamp(kit.Now).Field("power_w", 0.0).Field("fault_lamp_failure", true), "streetlight"));
            Assert.Empty(kit.Tick());
        }

        // The controller stops flagging the failure, but the lamp is still dark: now it is raised, at once.
        kit.Advance(5 * Minute);
        var transitions = kit.Observe(Lamp(kit.Now).Field("power_w", 0.0).Field("fault_lamp_failure", false), "streetlight");
        Assert.Equal(
            [(AlertTransitionKind.Resolved, "lamp_failure"), (AlertTransitionKind.Raised, "lamp_dark_at_night")],
            transitions.Select(t => (t.Kind, t.Alert.Rule)).OrderBy(t => t.Rule, StringComparer.Ordinal).Reverse());
    }

    // mains_loss (lighting_cabinet) groups device_offline and lamp_dark_at_night of the lamps whose birth names it as parent.
    [Fact]
    public void Grouped_CabinetLosesMains_ItsLampsWillsAreListedOnTheCabinetAlert_NoAlertPerLamp()
    {
        using var kit = new AlertTestKit();
        Birth(kit, "cab-1", "lighting_cabinet", parent: null);
        for (var i = 1; i <= 3; i++)
        {
            Birth(kit, $"lamp-{i}", "streetlight", parent: "cab-1");
        }

        var mains = Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet"));
        Assert.Equal("mains_loss", mains.Alert.Rule);
        kit.Advance(TimeSpan.FromSeconds(5));
        for (var i = 1; i <= 3; i++)
        {
            Assert.Empty(kit.Record(kit.Engine.DeviceWentOffline($"lamp-{i}", kit.Now)));
        }

        Assert.True(kit.Engine.Acknowledge(mains.Alert.Id, "ops:anna", "grid operator called").Ok);
        for (var i = 0; i < 6; i++)
        {
            // The cabinet, on its battery, keeps reporting; its lamps stay silent for 30 minutes: still grouped.
            kit.Advance(5 * Minute);
            Assert.Empty(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet"));
            Assert.Empty(kit.Tick());
        }

        Assert.Equal(["lamp-1", "lamp-2", "lamp-3"], kit.Engine.Find(mains.Alert.Id)!.Affected);
        Assert.Equal([mains.Alert.Id], kit.Engine.OpenAlerts().Select(a => a.Id));

        // Mains back; two lamps come back with a birth, the third stays dead: now it is its own alert.
        kit.Advance(Minute);
        Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", true), "lighting_cabinet"));
        Birth(kit, "lamp-1", "streetlight", parent: "cab-1");
        Birth(kit, "lamp-2", "streetlight", parent: "cab-1");
        var dead = Assert.Single(kit.Tick());
        Assert.Equal(("lamp-3", "device_offline", AlertTransitionKind.Raised), (dead.Alert.DeviceId, dead.Alert.Rule, dead.Kind));
    }

    [Fact]
    public void Grouped_LampWillsBeforeTheCabinetReport_WaitTheHoldDown_ThenGroup()
    {
        using var kit = new AlertTestKit(configure: o => o.GroupHoldDown = TimeSpan.FromSeconds(30));
        Birth(kit, "cab-1", "lighting_cabinet", parent: null);
        Birth(kit, "lamp-1", "streetlight", parent: "cab-1");
        Birth(kit, "lamp-2", "streetlight", parent: null);

        // The lamps die first; the cabinet's report comes 10 s later.
        Assert.Empty(kit.Engine.DeviceWentOffline("lamp-1", kit.Now));
        var orphan = kit.Engine.DeviceWentOffline("lamp-2", kit.Now);
        Assert.Equal("lamp-2", Assert.Single(orphan).Alert.DeviceId); // no parent: no reason to wait
        kit.Advance(TimeSpan.FromSeconds(10));
        Assert.Empty(kit.Tick());
        var mains = Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet"));
        kit.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(kit.Tick());
        Assert.Equal(["lamp-1"], kit.Engine.Find(mains.Alert.Id)!.Affected);
    }

    [Fact]
    public void Grouped_ParentHealthy_AWillOfAChildRaisesAfterTheHoldDown_ABirthWithinItRaisesNothing()
    {
        using var kit = new AlertTestKit(configure: o => o.GroupHoldDown = TimeSpan.FromSeconds(30));
        Birth(kit, "cab-1", "lighting_cabinet", parent: null);
        Birth(kit, "lamp-1", "streetlight", parent: "cab-1");
        Birth(kit, "lamp-2", "streetlight", parent: "cab-1");
        Assert.Empty(kit.Engine.DeviceWentOffline("lamp-1", kit.Now));
        Assert.Empty(kit.Engine.DeviceWentOffline("lamp-2", kit.Now));

        kit.Advance(TimeSpan.FromSeconds(10));
        Birth(kit, "lamp-2", "streetlight", parent: "cab-1"); // a reboot: back within the hold-down
        kit.Advance(TimeSpan.FromSeconds(20));
        var raised = Assert.Single(kit.Tick());
        Assert.Equal(("lamp-1", "device_offline"), (raised.Alert.DeviceId, raised.Alert.Rule));
        kit.Advance(TimeSpan.FromSeconds(5));
        Assert.Empty(kit.Tick());
    }

    private static void Birth(AlertTestKit kit, string device, string profile, string? parent)
    {
        var identity = profile == "lighting_cabinet"
            ? new DeviceIdentity(device, "lighting", "north", "depot", "lighting_cabinet")
            : new DeviceIdentity(device, "lighting", "north", "park", "streetlight");
        kit.Record(kit.Engine.DeviceCameOnline(identity, profile, kit.Now, parent));
        kit.Advance(TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void ManyHealthyLamps_KeepNoRuleState_AndShareOneRuleList()
    {
        using var kit = new AlertTestKit(persist: false);
        for (var round = 0; round < 3; round++)
        {
            for (var i = 0; i < 1_000; i++)
            {
                Assert.Empty(kit.Observe(Lamp(kit.Now, device: $"lamp-{i}").Field("on", false).Field("power_w", 0.0).Field("voltage_v", 231.0).Field("fault_lamp_failure", false), "streetlight"));
            }

            kit.Advance(5 * Minute);
        }

        Assert.Equal(0, kit.Engine.RuleStateCount);
        var a = kit.Engine.RulesFor(new DeviceIdentity("lamp-1", "lighting", "north", "park", "streetlight"), "streetlight");
        var b = kit.Engine.RulesFor(new DeviceIdentity("lamp-2", "lighting", "north", "park", "streetlight"), "streetlight");
        Assert.Same(a, b);

        // A breach makes state for that lamp and rule only.
        Assert.Single(kit.Observe(Lamp(kit.Now, device: "lamp-7").Field("fault_lamp_failure", true), "streetlight"));
        Assert.Equal(1, kit.Engine.RuleStateCount);
    }

    private static Point CameraEvent(DateTimeOffset ts, string ev) =>
        Point.ForDevice("security_event", ts, new DeviceTopic("security", "north", "town-hall", "camera", "cam-1", MessageKind.Event)).Field("event", ev);
}

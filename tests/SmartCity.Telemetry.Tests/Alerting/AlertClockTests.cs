using System.Text.Json;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Devices;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// Which clock each alert field runs on, and liveness while a backlog drains: a worker back from an
/// outage (or lagging behind a deep broker queue) must not call devices silent whose messages are
/// still queued; a will-raised offline keeps the device's last device time; event alerts without a
/// clear event resolve after their rule's quiet period.
/// </summary>
public sealed class AlertClockTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    /// <summary>Wednesday 2026-11-25 22:00 UTC: buildings closed (closed_hours rules apply).</summary>
    private static readonly DateTimeOffset Night = new(2026, 11, 25, 22, 0, 0, TimeSpan.Zero);

    private static Point PanicEvent(DateTimeOffset ts, string device = "pb-1") =>
        Point.ForDevice("security_event", ts, new DeviceTopic("security", "north", "town-hall", "panic_button", device, MessageKind.Event)).Field("event", "pressed");

    [Fact]
    public void Event_RepeatReplayedWithOldDeviceTime_LastOccurrenceAtIsEngineTime_DeviceTimeBeside()
    {
        using var kit = new AlertTestKit();
        var replayed = kit.Now.AddHours(-1); // a gateway replays its buffer: the door was forced an hour ago
        var raised = Assert.Single(kit.Observe(DoorEvent(replayed, "forced"), "door_contact")).Alert;
        Assert.Equal((kit.Now, kit.Now, replayed), (raised.RaisedAt, raised.LastOccurrenceAt, raised.LastOccurrenceDeviceTime));

        kit.Advance(TimeSpan.FromSeconds(2));
        kit.Observe(DoorEvent(replayed.AddSeconds(30), "forced"), "door_contact");

        var repeated = kit.Engine.Find(raised.Id)!;
        Assert.Equal(2, repeated.Occurrences);
        Assert.Equal(kit.Now, repeated.LastOccurrenceAt); // the engine's clock, as RaisedAt: never before the raise
        Assert.True(repeated.LastOccurrenceAt >= repeated.RaisedAt);
        Assert.Equal(replayed.AddSeconds(30), repeated.LastOccurrenceDeviceTime);
    }

    [Fact]
    public void Json_StateAndHistoryKinds_AreLowercaseAsTheApiFilters_OldCapitalisedNamesStillRead()
    {
        using var kit = new AlertTestKit();
        var raised = Assert.Single(kit.Observe(DoorEvent(kit.Now, "forced"), "door_contact")).Alert;
        kit.Engine.Acknowledge(raised.Id, "ops:anna", null);
        var alert = kit.Engine.Find(raised.Id)!;

        // The API's serializer (web defaults, no enum converter of its own).
        var json = JsonSerializer.SerializeToElement(alert, JsonSerializerOptions.Web);
        Assert.Equal("acknowledged", json.GetProperty("state").GetString());
        Assert.Equal(["raised", "acknowledged"], json.GetProperty("history").EnumerateArray().Select(h => h.GetProperty("kind").GetString()));

        // A state file written before the change said "Raised" and "Acknowledged": it still loads.
        kit.Engine.Save();
        var saved = File.ReadAllText(kit.Options.StateFile);
        Assert.Contains("\"acknowledged\"", saved, StringComparison.Ordinal);
        File.WriteAllText(kit.Options.StateFile, saved.Replace("\"acknowledged\"", "\"Acknowledged\"", StringComparison.Ordinal).Replace("\"raised\"", "\"Raised\"", StringComparison.Ordinal));
        var reloaded = kit.Restart().Find(raised.Id)!;
        Assert.Equal(AlertState.Acknowledged, reloaded.State);
        Assert.Equal([AlertTransitionKind.Raised, AlertTransitionKind.Acknowledged], reloaded.History.Select(h => h.Kind));
    }

    [Fact]
    public void Tick_RestartAfterOutageWhileBacklogDrains_RaisesNoQueuedDevice_RaisesTheSilentOneOnce()
    {
        // Three lamps report every 5 minutes (offline after 15); lamp-4 dies when the worker does.
        using var kit = new AlertTestKit();
        var start = kit.Now;
        string[] alive = ["lamp-1", "lamp-2", "lamp-3"];
        foreach (var id in alive.Append("lamp-4"))
        {
            kit.Observe(Lamp(start, id).Field("voltage_v", 230.0), "streetlight");
        }

        kit.Engine.Save();

        // The worker is down 30 minutes; the broker keeps the lamps' six readings each.
        kit.Advance(TimeSpan.FromMinutes(30));
        kit.Restart();
        Assert.Empty(kit.Tick()); // nothing of the backlog read yet: no silence judged

        // The backlog drains at speed (a second of engine time per slot), ticking in between.
        for (var slot = 1; slot <= 6; slot++)
        {
            foreach (var id in alive)
            {
                kit.Observe(Lamp(start + (TimeSpan.FromMinutes(5) * slot), id).Field("voltage_v", 230.0), "streetlight");
            }

            kit.Advance(TimeSpan.FromSeconds(1));
            kit.Tick();
        }

        // Live again: the lamps go on reporting, ticks go on.
        for (var i = 0; i < 6; i++)
        {
            kit.Advance(TimeSpan.FromMinutes(5));
            foreach (var id in alive)
            {
                kit.Observe(Lamp(kit.Now, id).Field("voltage_v", 230.0), "streetlight");
            }

            kit.Tick();
        }

        var offline = kit.Seen.Where(t => t.Kind == AlertTransitionKind.Raised && t.Alert.Rule == "device_offline").ToList();
        var silent = Assert.Single(offline);
        Assert.Equal("lamp-4", silent.Alert.DeviceId);
        Assert.Equal(start, silent.Entry.DeviceTime); // its last message
    }

    [Fact]
    public void Tick_WorkerFallsBehindADeepQueue_DevicesStillQueuedAreNotSilent_ACitySilenceStillIs()
    {
        // No restart: InfluxDB is slow and the worker reads one message per five minutes while four
        // lamps each send one every five minutes. The broker queue deepens; each lamp's readings
        // reach the engine 20 minutes apart, though none of them was silent.
        using var kit = new AlertTestKit();
        var start = kit.Now;
        string[] lamps = ["lamp-1", "lamp-2", "lamp-3", "lamp-4"];
        for (var slot = 0; slot < 6; slot++)
        {
            foreach (var id in lamps)
            {
                kit.Observe(Lamp(start + (TimeSpan.FromMinutes(5) * slot), id).Field("voltage_v", 230.0), "streetlight");
                for (var m = 0; m < 5; m++)
                {
                    kit.Advance(Minute);
                    kit.Tick();
                }
            }
        }

        Assert.DoesNotContain(kit.Seen, t => t.Alert.Rule == "device_offline");

        // Then nothing more arrives (the whole city falls silent): silence is judged again.
        kit.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(lamps, kit.Tick().Where(t => t.Alert.Rule == "device_offline").Select(t => t.Alert.DeviceId).Order());
    }

    [Fact]
    public void DeviceWentOffline_LastWill_RecordsTheDeviceTimeOfTheLastMessage()
    {
        using var kit = new AlertTestKit();
        var lastMessage = kit.Now.AddSeconds(-3); // the lamp's clock is a little behind
        kit.Observe(Lamp(lastMessage).Field("voltage_v", 230.0), "streetlight");
        kit.Advance(TimeSpan.FromSeconds(5));

        var raised = Assert.Single(kit.Record(kit.Engine.DeviceWentOffline("lamp-1", kit.Now)));

        Assert.Equal(lastMessage, raised.Entry.DeviceTime);
        Assert.Equal(lastMessage, raised.Alert.History[0].DeviceTime);
        Assert.NotNull(AlertingService.ToPoint(raised).GetField("device_time"));
    }

    [Fact]
    public void Tick_MotionAfterHoursQuietForFifteenMinutes_Resolves_PanicStaysOpen()
    {
        using var kit = new AlertTestKit(Night);
        var motion = Assert.Single(kit.Observe(MotionEvent(kit.Now, "motion"), "motion_detector")).Alert;
        var panic = Assert.Single(kit.Observe(PanicEvent(kit.Now), "panic_button")).Alert;
        kit.Advance(TimeSpan.FromMinutes(10));
        kit.Observe(MotionEvent(kit.Now, "motion"), "motion_detector"); // still moving: the quiet period starts again

        kit.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(kit.Tick(), t => t.Kind == AlertTransitionKind.Resolved);
        kit.Advance(TimeSpan.FromSeconds(1));

        var resolved = Assert.Single(kit.Tick(), t => t.Kind == AlertTransitionKind.Resolved);
        Assert.Equal((motion.Id, null), (resolved.Alert.Id, resolved.Alert.ResolvedBy));
        Assert.Contains("no motion for 00:15:00", resolved.Entry.Comment, StringComparison.Ordinal);

        kit.Advance(TimeSpan.FromHours(2));
        kit.Tick();
        Assert.Equal([panic.Id], kit.Engine.OpenAlerts().Where(a => a.Rule != "device_offline").Select(a => a.Id));
        Assert.Null(kit.Engine.RulesFor(new DeviceIdentity("pb-1", "security", "north", "town-hall", "panic_button"), "panic_button").Single(r => r.Rule == "panic").ResolveAfterQuiet);
    }
}

using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Engine;
using SmartCity.Telemetry.Alerting.Notifiers;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>Acknowledge, resolve, comment, escalation and flapping.</summary>
public sealed class LifecycleTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);

    private static Alert RaiseMainsLoss(AlertTestKit kit) =>
        Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet")).Alert;

    [Fact]
    public void Acknowledge_OpenAlert_RecordsWhoWhenComment()
    {
        using var kit = new AlertTestKit();
        var alert = RaiseMainsLoss(kit);
        kit.Advance(Minute);

        var result = kit.Engine.Acknowledge(alert.Id, "ops:anna", "crew on the way");

        Assert.True(result.Ok);
        Assert.Equal(AlertState.Acknowledged, result.Alert!.State);
        Assert.Equal(("ops:anna", kit.Now, "crew on the way"), (result.Alert.AcknowledgedBy, result.Alert.AcknowledgedAt, result.Alert.AcknowledgedComment));
        Assert.Equal(AlertTransitionKind.Acknowledged, result.Transition!.Kind);
        Assert.Equal(AlertOperationError.AlreadyAcknowledged, kit.Engine.Acknowledge(alert.Id, "ops:bob", null).Error);
    }

    [Fact]
    public void Operations_UnknownIdOrMissingOperatorOrResolved_AreRefusedWithAReason()
    {
        using var kit = new AlertTestKit();
        var alert = RaiseMainsLoss(kit);

        var unknown = kit.Engine.Acknowledge("nope", "ops:anna", null);
        Assert.Equal(AlertOperationError.NotFound, unknown.Error);
        Assert.Contains("nope", unknown.Reason);
        Assert.Equal(AlertOperationError.MissingOperator, kit.Engine.Resolve(alert.Id, " ", null).Error);
        Assert.Equal(AlertOperationError.MissingText, kit.Engine.Comment(alert.Id, "ops:anna", "").Error);

        var resolved = kit.Engine.Resolve(alert.Id, "ops:anna", "fuse replaced");
        Assert.True(resolved.Ok);
        Assert.Equal(("ops:anna", AlertState.Resolved), (resolved.Alert!.ResolvedBy, resolved.Alert.State));

        var again = kit.Engine.Resolve(alert.Id, "ops:bob", null);
        Assert.Equal(AlertOperationError.AlreadyResolved, again.Error);
        Assert.Contains("ops:anna", again.Reason);
        Assert.Equal(AlertOperationError.AlreadyResolved, kit.Engine.Acknowledge(alert.Id, "ops:bob", null).Error);
    }

    [Fact]
    public void Comment_AddsToHistory_AlsoAfterResolve()
    {
        using var kit = new AlertTestKit();
        var alert = RaiseMainsLoss(kit);
        Assert.True(kit.Engine.Comment(alert.Id, "ops:anna", "called the grid operator").Ok);
        kit.Engine.Resolve(alert.Id, "ops:anna", null);

        var late = kit.Engine.Comment(alert.Id, "ops:bob", "cause: excavation");

        Assert.True(late.Ok);
        Assert.Equal(
            [AlertTransitionKind.Raised, AlertTransitionKind.Commented, AlertTransitionKind.Resolved, AlertTransitionKind.Commented],
            late.Alert!.History.Select(h => h.Kind));
        Assert.Equal(("ops:bob", "cause: excavation"), (late.Alert.History[^1].By, late.Alert.History[^1].Comment));
    }

    [Fact]
    public void Resolve_ByOperatorWhileConditionHolds_RaisesANewAlertOnTheNextReading()
    {
        using var kit = new AlertTestKit();
        var first = RaiseMainsLoss(kit);
        kit.Engine.Resolve(first.Id, "ops:anna", "thought it was fixed");
        kit.Advance(Minute);

        var again = Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet"));
        Assert.NotEqual(first.Id, again.Alert.Id);
    }

    [Fact]
    public void Observe_TwoOutagesOfOneDeviceInTheSameMillisecond_EveryTransitionWrittenAtItsOwnTime()
    {
        // A replayed backlog (a week of readings after an outage of the worker) is handled within one
        // millisecond of the engine's clock: two alerts of one device and rule share the series of
        // alert_transition (same tags), so a tie on the timestamp would overwrite the first alert's steps.
        using var kit = new AlertTestKit();
        var transitions = new List<AlertTransition>();
        var hour = 0;
        foreach (var mains in new[] { false, true, false, true })
        {
            // Device times an hour apart (the readings of a week), the engine's clock the same.
            transitions.AddRange(kit.Observe(Cabinet(kit.Now.AddHours(hour++ - 4)).Field("mains_present", mains), "lighting_cabinet"));
        }

        Assert.Equal(2, transitions.Where(t => t.Kind == AlertTransitionKind.Raised).Select(t => t.Alert.Id).Distinct().Count());
        var written = transitions.Where(t => t.Kind is AlertTransitionKind.Raised or AlertTransitionKind.Resolved)
            .Select(t => (t.Kind, At: SmartCity.Telemetry.Alerting.Hosting.AlertingService.ToPoint(t).Timestamp)).ToList();
        Assert.Equal(4, written.Count);
        Assert.Equal(written.Count, written.Distinct().Count());
    }

    [Fact]
    public void Tick_CriticalUnacknowledgedPastEscalationTime_EscalatesOnce()
    {
        using var kit = new AlertTestKit();
        var alert = RaiseMainsLoss(kit);
        kit.Advance(TimeSpan.FromMinutes(15) - TimeSpan.FromSeconds(1));
        Assert.DoesNotContain(kit.Tick(), t => t.Kind == AlertTransitionKind.Escalated);
        kit.Advance(TimeSpan.FromSeconds(1));

        var escalated = Assert.Single(kit.Tick(), t => t.Kind == AlertTransitionKind.Escalated);
        Assert.Equal(alert.Id, escalated.Alert.Id);
        Assert.True(escalated.Alert.Escalated);
        kit.Advance(TimeSpan.FromMinutes(30));
        Assert.DoesNotContain(kit.Tick(), t => t.Kind == AlertTransitionKind.Escalated);
    }

    [Fact]
    public void Tick_AcknowledgedCritical_IsNotEscalated()
    {
        using var kit = new AlertTestKit();
        var alert = RaiseMainsLoss(kit);
        kit.Advance(TimeSpan.FromMinutes(5));
        kit.Engine.Acknowledge(alert.Id, "ops:anna", null);
        kit.Advance(TimeSpan.FromMinutes(30));

        Assert.DoesNotContain(kit.Tick(), t => t.Kind == AlertTransitionKind.Escalated);
        Assert.False(kit.Engine.Find(alert.Id)!.Escalated);
    }

    [Fact]
    public void Tick_MajorAlert_IsNotEscalated()
    {
        using var kit = new AlertTestKit();
        kit.Observe(Lamp(kit.Now).Field("fault_lamp_failure", true), "streetlight");
        kit.Advance(TimeSpan.FromHours(1));
        Assert.DoesNotContain(kit.Tick(), t => t.Kind == AlertTransitionKind.Escalated);
    }

    [Fact]
    public void Flapping_TooManyRaisesAndResolves_SuppressesNotifications_KeepsState_ResumesWhenQuiet()
    {
        using var kit = new AlertTestKit(configure: o =>
        {
            o.Flapping.MaxTransitions = 4;
            o.Flapping.Window = TimeSpan.FromMinutes(30);
        });
        var all = new List<AlertTransition>();
        for (var i = 0; i < 3; i++)
        {
            all.AddRange(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet"));
            kit.Advance(Minute);
            all.AddRange(kit.Observe(Cabinet(kit.Now).Field("mains_present", true), "lighting_cabinet"));
            kit.Advance(Minute);
        }

        // Transitions 1-4 notify; the 5th (third raise) starts flapping: suppressed itself, announced once.
        Assert.Equal(
            [
                (AlertTransitionKind.Raised, false), (AlertTransitionKind.Resolved, false),
                (AlertTransitionKind.Raised, false), (AlertTransitionKind.Resolved, false),
                (AlertTransitionKind.Raised, true), (AlertTransitionKind.FlappingStarted, false),
                (AlertTransitionKind.Resolved, true),
            ],
            all.Select(t => (t.Kind, t.Suppressed)));
        Assert.Equal(3, kit.Engine.Alerts().Count); // state kept: every raise is a real alert
        Assert.True(kit.Engine.Alerts()[^1].Flapping);

        // Still flapping while it goes on; quiet for the window -> notifications resume.
        Assert.True(Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet")).Suppressed);
        kit.Advance(Minute);
        Assert.True(Assert.Single(kit.Observe(Cabinet(kit.Now).Field("mains_present", true), "lighting_cabinet")).Suppressed);
        kit.Advance(TimeSpan.FromMinutes(29));
        Assert.DoesNotContain(kit.Tick(), t => t.Kind == AlertTransitionKind.FlappingStopped);
        kit.Advance(Minute);
        var stopped = Assert.Single(kit.Tick(), t => t.Kind == AlertTransitionKind.FlappingStopped);
        Assert.False(stopped.Alert.Flapping);
        kit.Advance(Minute);
        var after = kit.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet");
        Assert.False(Assert.Single(after, t => t.Alert.Rule == "mains_loss").Suppressed);
    }

    [Fact]
    public async Task DispatchAsync_HandsEveryTransitionToEverySink_AFailingSinkDoesNotStopOthers()
    {
        using var kit = new AlertTestKit();
        var good = new RecordingSink();
        var bad = new ThrowingSink();
        var engine = new AlertEngine(kit.Options, Profiles, null, kit.Time);
        var notifiers = new AlertNotifiers([bad, good]);
        var transitions = engine.Observe(Cabinet(kit.Now).Field("mains_present", false), "lighting_cabinet");

        var failures = await notifiers.DispatchAsync(transitions, CancellationToken.None);

        Assert.Equal(transitions, good.Received);
        Assert.Same(bad, Assert.Single(failures).Notifier);
    }

    [Fact]
    public void Ids_AreDeterministicFromDeviceRuleAndTime()
    {
        using var a = new AlertTestKit(persist: false);
        using var b = new AlertTestKit(persist: false);
        Assert.Equal(RaiseMainsLoss(a).Id, RaiseMainsLoss(b).Id);
    }

    private sealed class RecordingSink : IAlertNotifier
    {
        public List<AlertTransition> Received { get; } = [];

        public ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
        {
            Received.Add(transition);
            return ValueTask.CompletedTask;
        }
    }

    private sealed class ThrowingSink : IAlertNotifier
    {
        public ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("mail server down");
    }
}

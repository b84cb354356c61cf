using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.IntegrationTests.Lighting;

/// <summary>
/// Operator commands with a duration, on the real broker and worker and the fake clock: when the duration ends
/// before the schedule's next step the lamp goes back to its schedule's step, and a lamp without a schedule to the
/// level it had before. The command's <c>until</c> is the end of the duration (a TALQ override's expiration).
/// </summary>
public sealed class LightingDurationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    // 22:50 in Utrecht (LightingControlTests' evening): lamps on at 100 %, the 23:00 step (50 %) ten minutes away.
    private static readonly DateTimeOffset Evening = new(2026, 12, 7, 21, 50, 0, TimeSpan.Zero);

    private static double[] Levels(TestLamps lamps, string id) => [.. lamps.Received(id).Select(c => c.GetProperty("dim_pct").GetDouble())];

    private static CommandRequest Dim(string lamp, double level, TimeSpan? lasts) =>
        new() { TargetKind = TargetKind.Lamp, Target = lamp, DimPct = level, By = "test.operator", Reason = "works", For = lasts };

    private static async Task SubmitAsync(LightingService lighting, TestLamps lamps, string lamp, CommandRequest request, int received)
    {
        var (receipt, refusal) = await lighting.SubmitAsync(request, CancellationToken.None);
        Assert.Null(refusal);
        Assert.Single(receipt!.Sent);
        await lamps.WaitAsync(() => lamps.Received(lamp).Count >= received, Timeout);
    }

    [Fact]
    public async Task Command_DurationEndsBeforeTheStep_LampGoesBackToItsSchedulesStep()
    {
        var clock = new FakeTimeProvider(Evening);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dd");
        await using var worker = await TestWorker.StartAsync(db, overrides: LightingControlTests.Settings(schedules: LightingControlTests.ScheduleFile(district)), time: clock);
        await using var lamps = new TestLamps(worker.TopicRoot, district, clock);
        await lamps.ConnectAsync();
        await lamps.AddAsync("s1", "lamp-1", LampBehaviour.Ack);
        await LightingControlTests.KnownAsync(worker, "lamp-1");
        var lighting = worker.Services.GetRequiredService<LightingService>();
        // Lighting has seen the birth before the clock moves (see ResendQueuedAsync).
        await LightingControlTests.ResendQueuedAsync(lighting, "lamp-1", () => lamps.Received("lamp-1").Count >= 1);
        clock.Advance(TimeSpan.FromSeconds(1));
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 1, Timeout);

        await SubmitAsync(lighting, lamps, "lamp-1", Dim("lamp-1", 20, TimeSpan.FromMinutes(5)), received: 2);
        var command = lighting.History(c => c.DeviceId == "lamp-1" && c.By == "test.operator", 1)[0];
        Assert.Equal(command.SentAt + TimeSpan.FromMinutes(5), command.Until);

        // 22:56: the five minutes are over, the 23:00 step is not due yet: back to the evening's 100 %.
        clock.Advance(TimeSpan.FromMinutes(5.5));
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 3, Timeout);
        Assert.Equal([100d, 20d, 100d], Levels(lamps, "lamp-1"));

        // And the schedule's own step still comes at 23:00.
        clock.Advance(TimeSpan.FromMinutes(4.5));
        await lamps.WaitAsync(() => lamps.Received("lamp-1").Count >= 4, Timeout);
        Assert.Equal([100d, 20d, 100d, 50d], Levels(lamps, "lamp-1"));
    }

    [Fact]
    public async Task Command_DurationEndsWithoutSchedule_LampGoesBackToItsLevelBefore()
    {
        var clock = new FakeTimeProvider(Evening);
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dd");
        await using var worker = await TestWorker.StartAsync(db, overrides: LightingControlTests.Settings(), time: clock);
        await using var lamps = new TestLamps(worker.TopicRoot, district, clock);
        await lamps.ConnectAsync();
        await lamps.AddAsync("s1", "lamp-2", LampBehaviour.Ack);
        await LightingControlTests.KnownAsync(worker, "lamp-2");
        var lighting = worker.Services.GetRequiredService<LightingService>();

        await SubmitAsync(lighting, lamps, "lamp-2", Dim("lamp-2", 70, null), received: 1);
        await SubmitAsync(lighting, lamps, "lamp-2", Dim("lamp-2", 30, TimeSpan.FromMinutes(30)), received: 2);
        Assert.Null(lighting.History(c => c.DeviceId == "lamp-2" && c.DimPct == 70, 1)[0].Until);

        clock.Advance(TimeSpan.FromMinutes(31));
        await lamps.WaitAsync(() => lamps.Received("lamp-2").Count >= 3, Timeout);
        Assert.Equal([70d, 30d, 70d], Levels(lamps, "lamp-2"));
        Assert.StartsWith("end of ", lighting.History(c => c.DeviceId == "lamp-2", 1)[0].Reason, StringComparison.Ordinal);
    }
}

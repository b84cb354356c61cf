using SmartCity.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Devices;

/// <summary>
/// Issue 21's defect: a registration is part of the no-loss promise. The worker is SIGKILLed inside a
/// long <c>Registry:SaveInterval</c>, after it acknowledged the births and some readings, so the
/// registry file was never written; restarted with the same identity and data folder, its session
/// delivers the readings queued meanwhile before the retained births. Without the registry's journal
/// they were dead-lettered <c>UnknownDevice</c> (devices forgotten by the crash).
/// </summary>
[Collection(ServerFaultsGroup.Name)] // kills and restarts a worker process: not beside the parallel tests on 2 cores
public sealed class RegistryCrashTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task WorkerKilledBeforeTheRegistrySave_RestartedWithQueuedReadings_EveryReadingStored()
    {
        const int Lamps = 200, Rate = 300;
        const long Messages = 3_000;
        await using var db = await InfluxTestDatabase.CreateAsync();
        var topicRoot = TestServers.UniqueName("t") + "/city";
        var clientId = TestServers.UniqueName("worker-");
        var settings = WorkerProcess.Settings(db, topicRoot, clientId);
        // Far longer than the test: the registry file is never written before the kill.
        settings["Registry:SaveInterval"] = "00:02:00";
        var registryFile = settings["Registry:File"]!;
        await using var stream = new SteadyFleet(SteadyFleet.Fleet(topicRoot, Lamps, Messages, Rate), Messages, Rate, TestServers.UniqueName("sim-"));

        var first = await WorkerProcess.StartAsync(settings);
        stream.Start();
        await stream.WhenPublishedAsync(Rate, Long);
        // Every birth and some readings acknowledged by the worker (births come first).
        await first.WaitForAsync(p => p.GetProperty("acknowledged").GetInt64() >= Lamps + 100, Long);
        Assert.False(File.Exists(registryFile), "the registry was saved before the kill: the test would not show the crash window");
        var publishedAtKill = stream.Published;
        await first.KillAsync();
        await first.DisposeAsync();

        // While it is dead the fleet goes on: its readings wait in the worker's persistent session.
        await using var second = await WorkerProcess.StartAsync(settings);
        await stream.CompletionAsync(Long);
        // Each reading ends either stored or dead-lettered: wait until all are one or the other.
        var (stored, unknown) = await second.PollUntilAsync(
            async () => (await db.CountAsync("SELECT count(power_w) FROM street_light"),
                         await db.CountAsync("SELECT count(payload_bytes) FROM dead_letter WHERE reason = 'UnknownDevice'")),
            c => c.Item1 + c.Item2 >= Messages,
            Long);

        output.WriteLine($"FIGURES {nameof(WorkerKilledBeforeTheRegistrySave_RestartedWithQueuedReadings_EveryReadingStored)}: " +
                         $"published={stream.Published} stored={stored} dead_letters_unknown_device={unknown} published_at_kill={publishedAtKill}");
        Assert.Equal(Messages, stream.Published);
        Assert.Equal(0, unknown);
        Assert.Equal(Messages, stored);
    }
}

using System.Diagnostics;
using System.Net;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Tests.Buffering;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Faults;

/// <summary>
/// Issue 15 on the real servers: the worker (its own process, so a crash is an exit) with its spool,
/// device registry and alert state on a real 4 MiB file system, InfluxDB down until that disk is full.
/// </summary>
[Collection(ServerFaultsGroup.Name)]
public sealed class DiskFullFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Long = TimeSpan.FromMinutes(3);

    /// <summary>Where the console logger writes the spool's disk events (3010 Critical: cannot write; 3011: writes again).</summary>
    private const string DiskFailing = "crit: SmartCity.Telemetry.Buffering.DurableSpool[3010]";
    private const string DiskWritable = "SmartCity.Telemetry.Buffering.DurableSpool[3011]";

    [RootFact]
    public async Task DiskUnderTheSpoolFullWhileInfluxDbDown_IntakePausesNoCrashEverythingStoredAfter()
    {
        // About 7 MB of spool records (some 370 bytes each) for a 4 MiB disk, which fills at about 11,000.
        const int Rate = 2_000;
        const long Messages = 20_000;
        using var fs = new TinyFileSystem("4m");
        var spoolDirectory = Path.Combine(fs.Root, "spool");
        await using var db = await InfluxTestDatabase.CreateAsync();
        var topicRoot = TestServers.UniqueName("t") + "/city";
        var settings = TestWorker.Settings(db, topicRoot, TestServers.UniqueName("worker-"));
        settings.Remove("Urls");
        settings["Logging:LogLevel:Default"] = "Warning";
        settings["Spool:Directory"] = spoolDirectory;
        // Spool:SegmentBytes stays at its default (16 MiB), larger than the whole disk: the issue's setup.
        settings["Registry:File"] = Path.Combine(fs.Root, "registry.json");
        settings["Registry:SaveInterval"] = "00:00:01";
        settings["Alerting:StateFile"] = Path.Combine(fs.Root, "alerts.json");

        await using var worker = await WorkerProcess.StartAsync(settings);
        await using var stream = new SteadyFleet(SteadyFleet.Fleet(topicRoot, 200, Messages, Rate), Messages, Rate, TestServers.UniqueName("sim-"));
        var (atFull, fullHealth) = await FillTheDiskWithInfluxDbDownAsync(worker, stream, spoolDirectory);

        // InfluxDB back: storage drains the spool, which frees the disk, and intake resumes by itself.
        var restarted = Stopwatch.StartNew();
        long stored = 0;
        JsonElement after = default;
        while (stored < Messages && restarted.Elapsed < Long)
        {
            after = await worker.WaitForAsync(p => p.GetProperty("acknowledged").GetInt64() >= stream.TotalMessages && p.GetProperty("spoolDepth").GetInt64() == 0, Long);
            stored = await db.CountAsync("SELECT count(power_w) FROM street_light");
        }

        var drain = restarted.Elapsed;
        var logs = await LogsOnceHealthyAsync(worker);
        var episodes = Count(logs, DiskFailing);
        var recoveries = Count(logs, DiskWritable);
        output.WriteLine($"FIGURES {nameof(DiskUnderTheSpoolFullWhileInfluxDbDown_IntakePausesNoCrashEverythingStoredAfter)}: published={stream.Published} stored={stored} lost={stream.Published - stored} " +
                         $"acknowledged_at_disk_full={atFull.GetProperty("acknowledged").GetInt64()} spool_bytes_at_disk_full={atFull.GetProperty("spoolBytes").GetInt64()} " +
                         $"disk_full_episodes={episodes} worker_exits={(worker.HasExited ? 1 : 0)} drain={drain.TotalSeconds:F1}s");
        output.WriteLine($"healthz at disk full: {fullHealth}");

        Assert.Equal(Messages, stream.Published);
        Assert.Equal(Messages, stored);
        Assert.False(worker.HasExited);
        Assert.DoesNotContain(logs, l => l.Contains("BackgroundService failed", StringComparison.Ordinal));
        Assert.True(after.GetProperty("acknowledged").GetInt64() > atFull.GetProperty("acknowledged").GetInt64(), "intake never resumed");
        // One Critical per episode, not one per retry: each is followed by exactly one "writes again".
        Assert.True(episodes >= 1, "no Critical log for the full disk");
        Assert.Equal(episodes, recoveries);
    }

    /// <summary>InfluxDB stopped, the stream published until /healthz names the full disk under the spool; intake paused; InfluxDB started again.</summary>
    private static async Task<(JsonElement AtFull, string FullHealth)> FillTheDiskWithInfluxDbDownAsync(WorkerProcess worker, SteadyFleet stream, string spoolDirectory)
    {
        JsonElement atFull;
        string fullHealth;
        await ServerFaults.StopInfluxDbAsync();
        try
        {
            stream.Start();
            // Detected, not timed: /healthz names the disk once an append fails for lack of space.
            fullHealth = await WaitForHealthAsync(worker, (status, body) => status == HttpStatusCode.ServiceUnavailable && body.Contains($"spool: disk full at {spoolDirectory}", StringComparison.Ordinal),
                async () => stream.CompletionAsync(Long).IsCompleted && (await worker.WaitForAsync(_ => true, Long)).GetProperty("acknowledged").GetInt64() >= stream.TotalMessages,
                "the disk under the spool never filled (more messages needed)");
            atFull = await worker.WaitForAsync(_ => true, Long);

            // Intake paused: the rest of the stream is accepted by the broker and waits there, unacknowledged.
            await stream.CompletionAsync(Long);
            var paused = await worker.WaitForAsync(_ => true, Long);
            Assert.True(paused.GetProperty("acknowledged").GetInt64() < stream.TotalMessages, $"acknowledged {paused.GetProperty("acknowledged").GetInt64()} of {stream.TotalMessages} with the disk full");
            var (stillStatus, stillBody) = await worker.GetStatusAsync("/healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, stillStatus);
            Assert.Contains("spool: disk full", stillBody, StringComparison.Ordinal);
        }
        finally
        {
            await ServerFaults.StartInfluxDbAsync();
        }

        return (atFull, fullHealth);
    }

    /// <summary>The worker's output once /healthz is ok again and every "cannot write" line has its "writes again".</summary>
    private static async Task<IReadOnlyList<string>> LogsOnceHealthyAsync(WorkerProcess worker)
    {
        await WaitForHealthAsync(worker, (status, _) => status == HttpStatusCode.OK, () => Task.FromResult(false), "/healthz never became ok again");
        // /healthz is ok, so every episode has ended; its "writes again" line may still be on its way through the pipe.
        var logs = worker.OutputLines;
        var clock = Stopwatch.StartNew();
        while (Count(logs, DiskWritable) < Count(logs, DiskFailing) && clock.Elapsed < Long)
        {
            await Task.Delay(100); // poll interval of a condition with a deadline
            logs = worker.OutputLines;
        }

        return logs;
    }

    private static int Count(IReadOnlyList<string> logs, string line) => logs.Count(l => l.Contains(line, StringComparison.Ordinal));

    /// <summary>Polls /healthz (anonymous, served however the pipeline is doing) until <paramref name="done"/> holds; fails early when <paramref name="hopeless"/> does.</summary>
    private static async Task<string> WaitForHealthAsync(WorkerProcess worker, Func<HttpStatusCode, string, bool> done, Func<Task<bool>> hopeless, string failure)
    {
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < Long)
        {
            Assert.False(worker.HasExited, "the worker exited");
            var (status, body) = await worker.GetStatusAsync("/healthz");
            last = $"{(int)status} {body}";
            if (done(status, body))
            {
                return last;
            }

            Assert.False(await hopeless(), $"{failure}; last /healthz: {last}");
            await Task.Delay(200); // poll interval of a condition with a deadline, not a wait for time to pass
        }

        throw new TimeoutException($"{failure} within {Long}; last /healthz: {last}");
    }
}

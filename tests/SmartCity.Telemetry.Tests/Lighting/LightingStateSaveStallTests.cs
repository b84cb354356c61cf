using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Tests.Lighting;

/// <summary>
/// Lighting's periodic save (energy once a minute, or what changed) must not hold the readings back: every street-light
/// reading passes through lighting's lock on the ingest path, and a save that kept that lock through its fsyncs (a
/// busy disk takes hundreds of milliseconds for them) stalled every message behind it: a stall of the device-to-stored
/// tail at 4,000 msg/s (docs/performance.md, branch wt-tail). The disk is held here by holding the save's directory fsync.
/// </summary>
public sealed class LightingStateSaveStallTests : IDisposable
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-lampstall-" + Guid.NewGuid().ToString("N"));

    public LightingStateSaveStallTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Tick_SaveWaitsOnTheDisk_ReadingsObservedMeanwhile()
    {
        using var city = new LightingStateFormatTests.LampCity(_dir);
        var start = LightingStateFormatTests.Start;
        city.Publish("lamp-01/status", LightingStateFormatTests.Birth(start.AddMinutes(-10), "+01:00", "cab-1"));
        var syncing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var disk = new ManualResetEventSlim();
        city.Lighting.StateFileWriter.SyncDirectory = directory =>
        {
            syncing.TrySetResult();
            Assert.True(disk.Wait(TimeSpan.FromMinutes(2)), "the test never released the disk");
            StateFile.SyncDirectory(directory);
        };

        // The birth named a cabinet: the tick saves, and its save waits on the disk.
        var tick = Task.Run(() => city.Lighting.TickAsync(CancellationToken.None));
        try
        {
            await syncing.Task.WaitAsync(Deadline);
            var reading = Task.Run(() => city.Publish("lamp-01/telemetry", LightingStateFormatTests.Reading(start, on: true, dim: 40, power: 20)));

            // The reading is observed while the save still waits (it is held until the disk is released below).
            await reading.WaitAsync(Deadline);
            Assert.False(tick.IsCompleted);
        }
        finally
        {
            disk.Set();
        }

        await tick.WaitAsync(Deadline);
        Assert.Contains("\"cab-1\"", await File.ReadAllTextAsync(city.StateFile), StringComparison.Ordinal);
        Assert.False(File.Exists(city.StateFile + ".tmp"));
    }

    [Fact]
    public async Task Tick_SaveFailsOnTheDisk_SavedAgainAtTheNextTick()
    {
        using var city = new LightingStateFormatTests.LampCity(_dir);
        var start = LightingStateFormatTests.Start;
        city.Publish("lamp-01/status", LightingStateFormatTests.Birth(start.AddMinutes(-10), "+01:00", "cab-1"));
        var failures = 1;
        city.Lighting.StateFileWriter.SyncDirectory = directory =>
        {
            if (Interlocked.Decrement(ref failures) >= 0)
            {
                throw new IOException("fsync of directory failed: Input/output error (errno 5)");
            }

            StateFile.SyncDirectory(directory);
        };

        // The first save's rename happened but its directory fsync failed: not saved, so the next tick saves again.
        await city.Lighting.TickAsync(CancellationToken.None);
        File.Delete(city.StateFile);
        await city.Lighting.TickAsync(CancellationToken.None);

        Assert.Contains("\"cab-1\"", await File.ReadAllTextAsync(city.StateFile), StringComparison.Ordinal);
    }
}

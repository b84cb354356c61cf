using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Tests.Diagnostics;

public sealed class PeriodicSaverTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "periodic-saver-tests-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    /// <summary>A state of one text, saved through <see cref="StateFile"/> with a directory fsync the test can make fail.</summary>
    private sealed class TextSaver(string path, FakeTimeProvider time, DiskHealth disk) : PeriodicSaver(TimeSpan.FromMinutes(1), time, "test state", disk)
    {
        public string Text { get; set; } = "";

        public bool SyncFails { get; set; }

        public List<bool> Failures { get; } = [];

        public int Recoveries { get; private set; }

        protected override string SavedPath => path;

        protected override void SaveIfChanged() =>
            StateFile.Replace(path, s => s.Write(System.Text.Encoding.UTF8.GetBytes(Text)), null, directory =>
            {
                if (SyncFails)
                {
                    throw new IOException("Input/output error");
                }

                StateFile.SyncDirectory(directory);
            });

        protected override void OnSaveFailed(Exception failure, bool episodeStarted) => Failures.Add(episodeStarted);

        protected override void OnSaveRecovered() => Recoveries++;
    }

    [Fact]
    public async Task StopAsync_DirectorySyncFails_CountedAndShownNotSilent_ThenRecovers()
    {
        var disk = new DiskHealth();
        var path = Path.Combine(_directory, "state.txt");
        using var saver = new TextSaver(path, new FakeTimeProvider(DateTimeOffset.UtcNow), disk) { Text = "one", SyncFails = true };
        await saver.StartAsync(CancellationToken.None);

        await saver.StopAsync(CancellationToken.None);

        Assert.Equal(1, saver.SaveFailures);
        Assert.Equal([true], saver.Failures);
        Assert.True(disk.IsFailing("test state"));
        Assert.Contains(disk.Problems, p => p.Path == path && p.Error == "Input/output error");

        // A second stop saves again (the save at stop is not only the loop's): still failing, no new episode.
        await saver.StopAsync(CancellationToken.None);
        Assert.Equal(2, saver.SaveFailures);
        Assert.Equal([true, false], saver.Failures);
        Assert.Equal(1, disk.Episodes);

        saver.SyncFails = false;
        saver.Text = "two";
        await saver.StopAsync(CancellationToken.None);

        Assert.Equal(2, saver.SaveFailures);
        Assert.Equal(1, saver.Recoveries);
        Assert.False(disk.IsFailing("test state"));
        Assert.Equal("two", File.ReadAllText(path));
    }

    [Fact]
    public async Task ExecuteAsync_EachInterval_SavesAndKeepsRunningThroughFailures()
    {
        var disk = new DiskHealth();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var path = Path.Combine(_directory, "state.txt");
        using var saver = new TextSaver(path, time, disk) { Text = "one", SyncFails = true };
        await saver.StartAsync(CancellationToken.None);

        // The loop starts on the thread pool, so its timer may not exist at the first advance: advance until it saved.
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        while (saver.SaveFailures < 2)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }

        Assert.False(saver.ExecuteTask!.IsCompleted);
        saver.SyncFails = false;
        while (disk.IsFailing("test state"))
        {
            time.Advance(TimeSpan.FromMinutes(1));
            await Task.Yield();
            deadline.Token.ThrowIfCancellationRequested();
        }

        Assert.Equal("one", File.ReadAllText(path));
        Assert.False(saver.ExecuteTask.IsCompleted);
        await saver.StopAsync(CancellationToken.None);
    }
}

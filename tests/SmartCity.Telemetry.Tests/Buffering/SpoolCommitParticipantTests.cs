using System.Collections.Concurrent;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Tests.Buffering;

/// <summary>
/// State beside the spool (the registry's journal) rides on the spool's group commit: made durable
/// before the acknowledgements, and a failure to write it acknowledges nothing until it is written.
/// </summary>
public sealed class SpoolCommitParticipantTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "smartcity-participant-tests-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 7, 10, 0, 0, TimeSpan.Zero));
    private readonly PipelineMetrics _metrics = new();
    private readonly DiskHealth _disk = new();
    private readonly ConcurrentQueue<string> _acks = new();
    private readonly Journal _journal;

    public SpoolCommitParticipantTests() => _journal = new Journal(_acks);

    public void Dispose()
    {
        _metrics.Dispose();
        _disk.Dispose();
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task<DurableSpool> OpenAsync()
    {
        var spool = new DurableSpool(
            Options.Create(new SpoolOptions { Directory = _directory, CommitBatch = 64, CommitInterval = TimeSpan.Zero }),
            _metrics, _time, NullLogger<DurableSpool>.Instance, _disk, [_journal]);
        await spool.StartAsync(CancellationToken.None);
        return spool;
    }

    private BufferedMessage Message(string line) => new(line, false, _ =>
    {
        _acks.Enqueue(line);
        return Task.CompletedTask;
    });

    [Fact]
    public async Task Append_ParticipantMadeDurableBeforeTheMessageIsAcknowledged()
    {
        var spool = await OpenAsync();
        Assert.True(await spool.AppendAsync(Message("m,k=1 v=1 1"), CancellationToken.None));
        await _metrics.WaitUntilAsync(_ => !_acks.IsEmpty, Timeout);

        var first = _journal.Calls.First();
        Assert.Equal(0, first.AcksBefore);
        Assert.True(first.Fsync);
        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        spool.Dispose();
    }

    [Fact]
    public async Task Append_ParticipantCannotWrite_NothingAcknowledgedUntilItCanThenShownAndRecovered()
    {
        _journal.Failing = true;
        var spool = await OpenAsync();
        Assert.True(await spool.AppendAsync(Message("m,k=1 v=1 1"), CancellationToken.None));
        await _journal.FirstFailure.Task.WaitAsync(Timeout);
        // The writer is past the failure and waiting to retry: the record is on disk, its ack is not sent.
        await WaitForAsync(() => _disk.IsFailing(Journal.ComponentName));
        Assert.Empty(_acks);

        _journal.Failing = false;
        using var timeout = new CancellationTokenSource(Timeout);
        while (_acks.IsEmpty)
        {
            _time.Advance(TimeSpan.FromSeconds(1)); // the retry waits on the fake clock
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }

        Assert.False(_disk.IsFailing(Journal.ComponentName));
        Assert.Equal(1, _disk.Episodes);
        spool.CompleteIntake();
        await spool.StopAsync(CancellationToken.None);
        spool.Dispose();
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (!condition())
        {
            await Task.Yield();
            timeout.Token.ThrowIfCancellationRequested();
        }
    }

    private sealed class Journal(ConcurrentQueue<string> acks) : ISpoolCommitParticipant
    {
        public const string ComponentName = "test journal";

        public ConcurrentQueue<(int AcksBefore, bool Fsync)> Calls { get; } = new();

        public TaskCompletionSource FirstFailure { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public volatile bool Failing;

        public string Name => ComponentName;

        public string Path => "/nowhere/journal";

        public void MakeDurable(bool fsync)
        {
            Calls.Enqueue((acks.Count, fsync));
            if (Failing)
            {
                FirstFailure.TrySetResult();
                throw new IOException("No space left on device");
            }
        }
    }
}

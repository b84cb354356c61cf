using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Alerting.State;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Diagnostics;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>
/// The alert state's journal (issue 21's last defect): an alert raised within Alerting:StateSaveDelay
/// before a crash is in the journal the spool's commit made durable before it acknowledged the reading,
/// and a restart continues it instead of raising it again under a new id.
/// </summary>
public sealed class AlertJournalTests : IAsyncLifetime
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "smartcity-alert-journal-" + Guid.NewGuid().ToString("N"));
    private readonly FakeTimeProvider _time = new(Noon);
    private readonly PipelineMetrics _metrics = new();
    private readonly DiskHealth _disk = new();
    private readonly List<IDisposable> _owned = [];
    private readonly List<Func<Task>> _stops = [];

    private string StateFile => Path.Combine(_dir, "alerts.json");

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Commit_ReadingNotYetJournaled_AckWaitsUntilTheAlertIsOnDisk()
    {
        var journal = Own(new AlertJournal(StateFile));
        var committing = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (spool, service) = await StartAsync(journal, new Signalling(journal, committing));
        using var hold = new ManualResetEventSlim();
        var held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        service.BeforeJournal = () =>
        {
            held.TrySetResult();
            hold.Wait(Timeout);   // the alert loop, held before it journals the door's alert
        };

        await service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);
        await held.Task.WaitAsync(Timeout);
        var journaledAtAck = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        // The reading's record, appended after its observation as the ingest stage does.
        await spool.AppendAsync(new BufferedMessage("door f=1 1", false, _ => { journaledAtAck.TrySetResult(JournalText()); return Task.CompletedTask; }), CancellationToken.None);
        // The commit has reached the journal: only now is the alert loop let go.
        await committing.Task.WaitAsync(Timeout);
        service.BeforeJournal = null;
        hold.Set();

        var atAck = await journaledAtAck.Task.WaitAsync(Timeout);
        var alert = Assert.Single(await service.AlertsAsync().WaitAsync(Timeout));
        Assert.Contains(alert.Id, atAck, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restart_AlertRaisedAfterTheLastSave_ContinuedWithTheSameId()
    {
        var (service, raised) = await DoorForcedAndAcknowledgedAsync();
        await service.AcknowledgeAsync(raised.Id, "operator-1", "on my way").WaitAsync(Timeout);
        Assert.False(File.Exists(StateFile), "saved before the crash: the journal would not be needed");

        // A crash: nothing stopped or saved; another worker starts on the same files.
        var second = Own(new AlertJournal(StateFile));
        var restarted = NewService(second);

        var continued = Assert.Single(await ReadWithoutLoopAsync(restarted));
        Assert.Equal((raised.Id, AlertState.Acknowledged, "operator-1"), (continued.Id, continued.State, continued.AcknowledgedBy));
    }

    [Fact]
    public void Replay_TornLastLine_SkippedAndCounted()
    {
        using var journal = new AlertJournal(StateFile);
        var alert = new AlertTestKit(persist: false).Observe(DoorEvent(Noon, "forced"), "door_contact")[0].Alert;
        journal.Put(alert, null);
        journal.MakeDurable(fsync: true);
        File.AppendAllText(journal.Path, "{\"alert\":{\"id\":\"torn");   // a crash mid-write

        using var replayed = new AlertJournal(StateFile);
        var put = new List<string>();
        var (applied, skipped) = replayed.Replay((a, _) => put.Add(a.Id), _ => { });

        Assert.Equal((1, 1, 1L), (applied, skipped, replayed.LinesSkipped));
        Assert.Equal([alert.Id], put);
    }

    [Fact]
    public async Task Save_AlertJournaled_JournalsDeletedAndTheAlertInTheFile()
    {
        var (service, raised) = await DoorForcedAndAcknowledgedAsync();
        Assert.NotEmpty(CommitJournal.Existing(Path.GetFullPath(StateFile)));

        // The debounced save (StateSaveDelay on the fake clock) writes the file and deletes the journal it rotated.
        _time.Advance(TimeSpan.FromMinutes(1));
        await PollAsync(() => File.Exists(StateFile) && CommitJournal.Existing(Path.GetFullPath(StateFile)).Count == 0);

        Assert.Contains(raised.Id, File.ReadAllText(StateFile), StringComparison.Ordinal);
    }

    public async Task DisposeAsync()
    {
        for (var i = _stops.Count - 1; i >= 0; i--)
        {
            await _stops[i]();
        }

        for (var i = _owned.Count - 1; i >= 0; i--)
        {
            _owned[i].Dispose();
        }

        _metrics.Dispose();
        _disk.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private T Own<T>(T disposable)
        where T : IDisposable
    {
        _owned.Add(disposable);
        return disposable;
    }

    private async Task<(DurableSpool Spool, AlertingService Service)> StartAsync(AlertJournal journal, ISpoolCommitParticipant participant)
    {
        var spool = Own(new DurableSpool(
            Options.Create(new SpoolOptions { Directory = Path.Combine(_dir, "spool"), Fsync = true, CommitInterval = TimeSpan.Zero }),
            _metrics,
            _time,
            NullLogger<DurableSpool>.Instance,
            _disk,
            [participant]));
        var service = NewService(journal, spool);
        await spool.StartAsync(CancellationToken.None);
        await service.StartAsync(CancellationToken.None);
        _stops.Add(async () =>
        {
            service.BeforeJournal = null;
            await service.StopAsync(CancellationToken.None);
            spool.CompleteIntake();
            await spool.StopAsync(CancellationToken.None);
        });
        return (spool, service);
    }

    private AlertingService NewService(AlertJournal journal, DurableSpool? spool = null) => Own(new AlertingService(
        Options.Create(new AlertingOptions { StateFile = StateFile, StateSaveDelay = TimeSpan.FromMinutes(1) }),
        new ProfileSet(Profiles, []),
        spool ?? Own(new DurableSpool(Options.Create(new SpoolOptions { Directory = Path.Combine(_dir, "spool2"), Fsync = false }), _metrics, _time, NullLogger<DurableSpool>.Instance)),
        _metrics,
        [],
        _time,
        _disk,
        NullLogger<AlertingService>.Instance,
        journal));

    /// <summary>The restarted service's alerts as replayed, read through its queue once its loop runs.</summary>
    private async Task<IReadOnlyList<Alert>> ReadWithoutLoopAsync(AlertingService service)
    {
        await service.StartAsync(CancellationToken.None);
        _stops.Add(() => service.StopAsync(CancellationToken.None));
        return await service.AlertsAsync().WaitAsync(Timeout);
    }

    /// <summary>A door forced (an alert), then a record acknowledged after it: the alert's journal entry is durable.</summary>
    private async Task<(AlertingService Service, Alert Raised)> DoorForcedAndAcknowledgedAsync()
    {
        var journal = Own(new AlertJournal(StateFile));
        var (spool, service) = await StartAsync(journal, journal);
        await service.ObserveAsync(DoorEvent(Noon, "forced"), "door_contact", CancellationToken.None);
        await AckedAsync(spool);
        return (service, Assert.Single(await service.AlertsAsync().WaitAsync(Timeout)));
    }

    /// <summary>A record appended after the observation, acknowledged: its commit made the alert's journal entry durable.</summary>
    private static async Task AckedAsync(DurableSpool spool)
    {
        var acked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await spool.AppendAsync(new BufferedMessage("door f=1 1", false, _ => { acked.TrySetResult(); return Task.CompletedTask; }), CancellationToken.None);
        await acked.Task.WaitAsync(Timeout);
    }

    private string JournalText() => string.Concat(CommitJournal.Existing(Path.GetFullPath(StateFile)).Select(j => File.ReadAllText(j.Path)));

    private static async Task PollAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not reached in time");
            await Task.Yield();
        }
    }

    /// <summary>The journal as the spool sees it, telling the test when a commit has reached it.</summary>
    private sealed class Signalling(AlertJournal inner, TaskCompletionSource committing) : ISpoolCommitParticipant
    {
        public string Name => inner.Name;

        public string Path => inner.Path;

        public ValueTask AppendedAsync(CancellationToken cancellationToken)
        {
            committing.TrySetResult();
            return inner.AppendedAsync(cancellationToken);
        }

        public void MakeDurable(bool fsync) => inner.MakeDurable(fsync);
    }
}

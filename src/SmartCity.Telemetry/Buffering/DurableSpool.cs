using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// The durable buffer: a write-ahead log of segment files in one folder, read by named cursors.
/// The source appends; the writer (<see cref="SpoolWriter"/>) group-commits, fsyncs and only then
/// acknowledges the messages to the broker; each sink reads in order through its own cursor
/// (<see cref="SpoolCursor"/>) and commits what it stored, which persists that cursor; the ledger
/// (<see cref="SpoolLedger"/>) deletes a segment once every cursor has passed it. After a crash,
/// recovery (<see cref="SpoolRecovery"/>) checks the tail record by record (CRC) and every cursor
/// reads again from where it committed; writes are idempotent (device timestamps), so replays do not
/// duplicate. Each sink reads through its own cursor (Cursor(name)); the InfluxDB sink holds the default one.
/// </summary>
public sealed class DurableSpool : BackgroundService, ISpoolGauges, IStage
{
    /// <summary>The cursor of the InfluxDB sink; its file keeps the name of the spool's single cursor of old ("cursor").</summary>
    public const string DefaultCursorName = "influx";

    private const string DefaultCursorFile = "cursor";

    private readonly SpoolOptions _options;
    private readonly ISpoolMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<DurableSpool> _logger;
    private readonly SpoolLedger _ledger;
    private readonly SpoolWriter _writer;
    private readonly DiskHealth _disk;
    private readonly SpoolCursor _default;
    private bool _opened;

    public DurableSpool(IOptions<SpoolOptions> options, ISpoolMetrics metrics, TimeProvider time, ILogger<DurableSpool> logger, DiskHealth? disk = null, IEnumerable<ISpoolCommitParticipant>? participants = null)
    {
        _options = options.Value;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        _ledger = new SpoolLedger(_options.Directory);
        _disk = disk ?? new DiskHealth();
        _writer = new SpoolWriter(_options, _ledger, metrics, time, logger, _disk, participants);
        _default = Cursor(DefaultCursorName);
        metrics.ObserveSpool(this);
    }

    public string Directory => _ledger.Directory;

    /// <summary>Records on disk not yet stored (by the cursor furthest behind).</summary>
    public long Depth
    {
        get
        {
            long depth = 0;
            var cursors = _ledger.Cursors;
            for (var i = 0; i < cursors.Count; i++)
            {
                depth = Math.Max(depth, cursors[i].Depth);
            }

            return depth;
        }
    }

    public StageCounters Counters => _metrics.SpoolStage;

    public long BytesOnDisk => _ledger.BytesOnDisk;

    public int QueuedForDisk => _writer.QueuedForDisk;

    /// <summary>True while intake waits for space (the size bound is reached).</summary>
    public bool IsFull => _writer.IsFull || IsDiskFull;

    /// <summary>True while appends fail for lack of space or an I/O error; intake waits meanwhile.</summary>
    public bool IsDiskFull => _writer.IsDiskFull;

    /// <summary>Age of the oldest record not yet stored (by any cursor), or zero when storage is up to date.</summary>
    public TimeSpan OldestAge
    {
        get
        {
            var age = TimeSpan.Zero;
            var cursors = _ledger.Cursors;
            for (var i = 0; i < cursors.Count; i++)
            {
                var oldest = cursors[i].OldestAge;
                age = oldest > age ? oldest : age;
            }

            return age;
        }
    }

    /// <summary>
    /// In one look: where the durable records end, how far the InfluxDB sink's cursor has stored, and
    /// whether it has stored them all (rollups mark the end, then wait for the sink to pass it).
    /// </summary>
    internal (SpoolPosition DurableEnd, SpoolPosition Stored, bool AllStored) DefaultCursorProgress()
    {
        lock (_ledger.Lock)
        {
            return (_ledger.DurableEndLocked, _default.CommittedLocked, _default.PendingLocked == 0);
        }
    }

    /// <summary>
    /// The cursor called <paramref name="name"/> (a-z, 0-9, '-' or '_'): a second sink is a folder plus
    /// a cursor. Every cursor is named before the spool starts, since segments are kept until all have passed them.
    /// </summary>
    public SpoolCursor Cursor(string name)
    {
        if (_ledger.Cursors.FirstOrDefault(c => c.Name == name) is { } existing)
        {
            return existing;
        }

        if (string.IsNullOrEmpty(name) || !name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'))
        {
            throw new ArgumentException($"Spool cursor name '{name}': use a-z, 0-9, '-' or '_'", nameof(name));
        }

        if (_opened)
        {
            throw new InvalidOperationException($"Spool cursor '{name}' named after the spool started: add every cursor before StartAsync");
        }

        var file = name == DefaultCursorName ? DefaultCursorFile : DefaultCursorFile + "." + name;
        var cursor = new SpoolCursor(name, file, _ledger, _options, _metrics, _time, _logger, _disk);
        _ledger.AddCursor(cursor);
        return cursor;
    }

    /// <summary>Opens the spool and recovers what a previous run left, before any other component starts.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_opened)
        {
            _opened = true;
            _writer.Open();
        }

        return base.StartAsync(cancellationToken);
    }

    /// <summary>Queues a message for the disk; its ack runs once it is there. False after intake closed.</summary>
    public ValueTask<bool> AppendAsync(BufferedMessage message, CancellationToken cancellationToken) => _writer.AppendAsync(message, cancellationToken);

    /// <summary>No more appends: what is queued is still written and acknowledged.</summary>
    public void CompleteIntake() => _writer.CompleteIntake();

    /// <summary>Completes when everything appended before <see cref="CompleteIntake"/> is on disk and acknowledged.</summary>
    public Task IntakeFlushed => _ledger.WriterDone;

    /// <summary>Completes when every cursor has committed everything on disk (or <paramref name="cancellationToken"/> fires).</summary>
    public async Task WaitUntilEmptyAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_ledger.Lock)
            {
                if (_ledger.AllCommittedLocked && _ledger.WriterDone.IsCompleted)
                {
                    return;
                }

                wait = _ledger.SpacePulseLocked;
            }

            // Commit pulses this, and so does the writer when it finishes.
            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => _writer.RunAsync(stoppingToken);

    // The default cursor's reading, for callers that read the spool as one queue (tests, tools); a sink
    // holds its cursor object instead (see SpoolCursor for each).

    /// <inheritdoc cref="SpoolCursor.UnreadAvailable"/>
    public Task UnreadAvailable => _default.UnreadAvailable;

    /// <inheritdoc cref="SpoolCursor.ReadBatchAsync"/>
    public ValueTask<SpoolBatch> ReadBatchAsync(int maxRecords, CancellationToken cancellationToken) => _default.ReadBatchAsync(maxRecords, cancellationToken);

    /// <inheritdoc cref="SpoolCursor.MoreDurable"/>
    public Task MoreDurable => _default.MoreDurable;

    /// <inheritdoc cref="SpoolCursor.ReadMore"/>
    public void ReadMore(SpoolBatch batch, int maxRecords) => _default.ReadMore(batch, maxRecords);

    /// <inheritdoc cref="SpoolCursor.Commit"/>
    public void Commit(SpoolBatch batch) => _default.Commit(batch);

    /// <inheritdoc cref="SpoolCursor.ObserveOldest"/>
    public void ObserveOldest(SpoolBatch batch) => _default.ObserveOldest(batch);

    public override void Dispose()
    {
        _writer.Dispose();
        foreach (var cursor in _ledger.Cursors)
        {
            cursor.Dispose();
        }

        base.Dispose();
    }
}

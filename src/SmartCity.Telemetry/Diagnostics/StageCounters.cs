using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace SmartCity.Telemetry.Diagnostics;

/// <summary>
/// Marks a pipeline stage. Every stage reports its <see cref="StageCounters"/>; the compliance test
/// (StageComplianceTests) finds every type with this marker and drives a message through it, so a new
/// stage cannot be added without its counters.
/// </summary>
public interface IStage
{
    /// <summary>The stage's counters (the value of the <c>stage</c> tag is <see cref="StageCounters.Stage"/>).</summary>
    StageCounters Counters { get; }
}

/// <summary>A point-in-time copy of one stage's four counters.</summary>
public readonly record struct StageSnapshot(string Stage, long Received, long Sent, long Errors, long Discarded);

/// <summary>
/// The four counters of Vector's component spec for one stage: received, sent, errors by class and
/// discarded by reason, exported on the instruments <c>smartcity.stage.*</c> (the same names for
/// every stage, told apart by the <c>stage</c> tag). The tag lists are built once (per class and
/// reason on first use), so counting allocates nothing per message. Received and sent change with
/// every message: they are observable counters that read the totals when the exporter collects,
/// so a message costs one interlocked add each instead of a measurement through every listener
/// (OpenTelemetry's aggregator looked its tags up per call: about 2 % of the worker's CPU at max rate).
/// </summary>
public sealed class StageCounters
{
    private readonly StageInstruments _instruments;
    private readonly TagList _stageTag;
    private readonly ConcurrentDictionary<string, TagList> _errorTags = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TagList> _discardTags = new(StringComparer.Ordinal);
    private long _received;
    private long _sent;
    private long _errors;
    private long _discarded;

    internal StageCounters(StageInstruments instruments, string stage)
    {
        _instruments = instruments;
        Stage = stage;
        _stageTag = new TagList { { "stage", stage } };
        instruments.Add(this);
    }

    public string Stage { get; }

    /// <summary>Items the stage took in.</summary>
    public void Received(long count = 1) => Interlocked.Add(ref _received, count);

    /// <summary>Items the stage handed on (to the next stage or the outside world).</summary>
    public void Sent(long count = 1) => Interlocked.Add(ref _sent, count);

    /// <summary>A failure of the stage, by class (a reject reason, a write error class); the item may still go on.</summary>
    public void Error(string errorClass, long count = 1)
    {
        Interlocked.Add(ref _errors, count);
        _instruments.Errors.Add(count, _errorTags.GetOrAdd(errorClass, static (c, stage) => new TagList { { "stage", stage }, { "class", c } }, Stage));
    }

    /// <summary>Items the stage dropped on purpose, by reason (not for the worker, expired, refused).</summary>
    public void Discarded(string reason, long count = 1)
    {
        Interlocked.Add(ref _discarded, count);
        _instruments.Discarded.Add(count, _discardTags.GetOrAdd(reason, static (r, stage) => new TagList { { "stage", stage }, { "reason", r } }, Stage));
    }

    public StageSnapshot Snapshot() => new(
        Stage, Interlocked.Read(ref _received), Interlocked.Read(ref _sent), Interlocked.Read(ref _errors), Interlocked.Read(ref _discarded));

    internal Measurement<long> ReceivedMeasurement() => new(Interlocked.Read(ref _received), _stageTag);

    internal Measurement<long> SentMeasurement() => new(Interlocked.Read(ref _sent), _stageTag);
}

/// <summary>The four instruments, created once per meter and shared by every stage's counters.</summary>
internal sealed class StageInstruments
{
    // Written while the stages are built, read by the exporter's collections afterwards.
    private readonly Lock _lock = new();
    private volatile StageCounters[] _stages = [];

    public StageInstruments(Meter meter)
    {
        Errors = meter.CreateCounter<long>("smartcity.stage.errors", "{error}", "Stage failures, by stage and class");
        Discarded = meter.CreateCounter<long>("smartcity.stage.discarded", "{item}", "Items a stage dropped on purpose, by stage and reason");
        meter.CreateObservableCounter("smartcity.stage.received", () => _stages.Select(s => s.ReceivedMeasurement()), "{item}", "Items a stage took in, by stage");
        meter.CreateObservableCounter("smartcity.stage.sent", () => _stages.Select(s => s.SentMeasurement()), "{item}", "Items a stage handed on, by stage");
    }

    public Counter<long> Errors { get; }

    public Counter<long> Discarded { get; }

    public void Add(StageCounters stage)
    {
        lock (_lock)
        {
            _stages = [.. _stages, stage];
        }
    }
}

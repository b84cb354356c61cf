using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Rollups;

/// <summary>
/// Writes the hourly and daily rollups (README.md here): every <see cref="RollupOptions.Interval"/>,
/// each window that closed at least <see cref="RollupOptions.Lateness"/> ago, and whose raw data the
/// InfluxDB sink has stored, is aggregated by InfluxDB with InfluxQL and written to the rollup bucket,
/// oldest first; then the state file moves past it. A failure is logged and tried again next time.
/// </summary>
public sealed partial class RollupService : BackgroundService
{
    private static readonly RollupCadence[] Cadences = [RollupCadence.Hourly, RollupCadence.Daily];

    private readonly RollupOptions _options;
    private readonly bool _createBucket;
    private readonly IRollupStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger<RollupService> _logger;
    private readonly RollupCalendar _calendar;
    private readonly RollupJobs _jobs;
    private readonly SinkProgress _sink;
    private readonly object _runLock = new();
    private TaskCompletionSource<int> _ran = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private RollupState? _state;

    public RollupService(IOptions<RollupOptions> options, IOptions<AlertingOptions> alerting, IOptions<InfluxSinkOptions> influx, IRollupStore store, DurableSpool spool, TimeProvider time, ILogger<RollupService> logger)
        : this(options.Value, alerting.Value.TimeZone, influx.Value.CreateBucket, store, new SinkProgress(spool), time, logger)
    {
    }

    internal RollupService(RollupOptions options, string timeZone, bool createBucket, IRollupStore store, SinkProgress sink, TimeProvider time, ILogger<RollupService> logger)
    {
        _options = options;
        _createBucket = createBucket;
        _store = store;
        _sink = sink;
        _time = time;
        _logger = logger;
        _calendar = new RollupCalendar(TimeZoneInfo.FindSystemTimeZoneById(timeZone));
        _jobs = new RollupJobs(store, options);
    }

    /// <summary>Completes after the next look for windows, with the number of windows written (a test waits on it, never on time).</summary>
    public Task<int> NextRunAsync()
    {
        lock (_runLock)
        {
            return _ran.Task;
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        if (_createBucket && _store is InfluxRollupStore influx)
        {
            await CreateBucketAsync(influx, stoppingToken);
        }

        using var timer = new PeriodicTimer(_options.Interval, _time);
        do
        {
            var written = await RunOnceAsync(stoppingToken);
            TaskCompletionSource<int> ran;
            lock (_runLock)
            {
                ran = _ran;
                _ran = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            ran.TrySetResult(written);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    /// <summary>Computes every window that is final now, per cadence, oldest first; returns how many were written.</summary>
    internal async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        _state ??= RollupState.Load(_options.StateFile);
        // Final: closed Lateness ago, and everything received by then is in InfluxDB.
        var completeUntil = _sink.CompleteUntil(now);
        var finalUntil = completeUntil == DateTimeOffset.MinValue ? completeUntil : completeUntil - _options.Lateness;
        var written = 0;
        foreach (var cadence in Cadences)
        {
            if (_state.NextStart(cadence) is null)
            {
                // The first start: from Backfill ago, remembered at once so a restart starts from the same window.
                _state.Begin(cadence, _calendar.Containing(cadence, now - _options.Backfill).Start);
            }

            var window = _calendar.Containing(cadence, _state.NextStart(cadence)!.Value);
            while (window.End <= finalUntil)
            {
                try
                {
                    var lines = cadence == RollupCadence.Hourly
                        ? await _jobs.HourlyAsync(window, cancellationToken)
                        : await _jobs.DailyAsync(window, cancellationToken);
                    await _store.WriteAsync(lines, cancellationToken);
                    _state.Done(cadence, window);
                    written++;
                    LogWindow(cadence, window.Start, window.End, lines.Count);
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or System.Text.Json.JsonException && !cancellationToken.IsCancellationRequested)
                {
                    LogFailed(cadence, window.Start, e.Message, _options.Interval);
                    break;
                }

                window = _calendar.Next(cadence, window);
            }
        }

        return written;
    }

    private async Task CreateBucketAsync(InfluxRollupStore influx, CancellationToken cancellationToken)
    {
        try
        {
            await influx.CreateDatabaseAsync(_options.Bucket, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            LogCreateFailed(_options.Bucket, e.Message);
        }
    }

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information, Message = "Rollup {Cadence} window {Start:o} .. {End:o} written ({Points} points)")]
    private partial void LogWindow(RollupCadence cadence, DateTimeOffset start, DateTimeOffset end, int points);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Warning, Message = "Rollup {Cadence} window from {Start:o} failed ({Error}); tried again in {Interval}. Is the rollup bucket (Rollups:Bucket) there and writable?")]
    private partial void LogFailed(RollupCadence cadence, DateTimeOffset start, string error, TimeSpan interval);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning, Message = "Could not create the rollup database {Bucket} ({Error}); create it as docs/retention.md shows")]
    private partial void LogCreateFailed(string bucket, string error);
}

using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// Lighting control in the worker: plans commands (<see cref="CommandPlanner"/>), sends them through
/// the <see cref="ICommandChannel"/>, confirms them from acknowledgements and telemetry
/// (LightingService.Observe.cs), times them out into <c>command_not_followed</c> alerts, runs the
/// schedules (LightingService.Schedules.cs) and meters energy. Everything it must not forget is in
/// <see cref="LightingOptions.StateFile"/>, written before a command is sent.
/// </summary>
public sealed partial class LightingService : BackgroundService
{
    public const string CommandMeasurement = "lighting_command";
    public const string EnergyMeasurement = "lighting_energy";

    private readonly Lock _gate = new();
    private readonly LightingOptions _options;
    private readonly DeviceRegistry _registry;
    private readonly ProfileSet _profiles;
    private readonly ICommandChannel _channel;
    private readonly AlertingService _alerting;
    private readonly DurableSpool _spool;
    private readonly TimeProvider _time;
    private readonly ILogger<LightingService> _logger;
    private readonly LightingStateFile _file;
    private readonly LightingState _state;
    private readonly ScheduleCalculator _calculator;
    private readonly IReadOnlyList<LightingSchedule> _schedules;
    private readonly Channel<Output> _outputs = Channel.CreateUnbounded<Output>(new UnboundedChannelOptions { SingleReader = true });
    /// <summary>Lamps born since the last tick -> the command whose level they should get (null: their schedule's).</summary>
    private readonly Dictionary<string, string?> _resend = new(StringComparer.Ordinal);

    /// <summary>Each lamp's cabinet, last birth and last reading, one record per lamp (the file's parents and births are taken into it).</summary>
    private readonly LampTable _lamps = new();
    private bool _dirty;

    /// <summary>Only energy totals changed (every telemetry does that): saved at most once per <see cref="EnergySaveInterval"/>.</summary>
    private bool _energyDirty;
    private DateTimeOffset _savedAt;
    private static readonly TimeSpan EnergySaveInterval = TimeSpan.FromMinutes(1);
    private long _sequence;

    public LightingService(
        IOptions<LightingOptions> options,
        IOptions<AlertingOptions> city,
        DeviceRegistry registry,
        ProfileSet profiles,
        ICommandChannel channel,
        AlertingService alerting,
        DurableSpool spool,
        TimeProvider time,
        ILogger<LightingService> logger)
    {
        _options = options.Value;
        _registry = registry;
        _profiles = profiles;
        _channel = channel;
        _alerting = alerting;
        _spool = spool;
        _time = time;
        _logger = logger;
        AlertingOptions.TryFindTimeZone(city.Value.TimeZone, out var zone);
        _calculator = new ScheduleCalculator(city.Value.Latitude, city.Value.Longitude, zone);
        _schedules = ScheduleLoader.Load(_options.SchedulesFile).Schedules;
        _file = new LightingStateFile(_options.StateFile);
        _state = _file.Load(out var error) ?? new LightingState();
        _lamps.Take(_state, registry.ExpectedDevices);
        if (error is not null)
        {
            LogStateUnreadable(_file.Path, error);
        }
    }

    public IReadOnlyList<LightingSchedule> Schedules => _schedules;

    public ScheduleCalculator Calculator => _calculator;

    public LightingOptions Options => _options;

    /// <summary>
    /// Plans <paramref name="request"/>, records every lamp's command as pending (saved before
    /// anything is sent), then sends them. Null refusal: the receipt says what was sent and skipped.
    /// </summary>
    public Task<(CommandReceipt? Receipt, CommandRefusal? Refusal)> SubmitAsync(CommandRequest request, CancellationToken cancellationToken) =>
        SubmitAsync(request, saveFirst: true, cancellationToken);

    /// <param name="saveFirst">
    /// False for the re-sends to lamps born again: a birth storm (100,000 lamps after a broker
    /// restart) must not write the state file once per lamp; the tick saves them together, and a
    /// re-send lost in a crash is made again at the lamp's next birth.
    /// </param>
    private async Task<(CommandReceipt? Receipt, CommandRefusal? Refusal)> SubmitAsync(CommandRequest request, bool saveFirst, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (CommandPlanner.Invalid(request) is { } invalid)
        {
            return (null, new CommandRefusal("invalid command", invalid, false));
        }

        // One lamp is looked up, not found in a copy of the whole registry (re-sends come one lamp at a time).
        IReadOnlyCollection<DeviceRecord> devices = request.TargetKind == TargetKind.Lamp
            ? _registry.Find(request.Target) is { } one ? [one] : []
            : _registry.Devices;
        if (request.ScheduleId is { } scheduleId)
        {
            // A district's step is not for the lamps of a site that has its own schedule.
            devices = [.. devices.Where(d => ScheduleOf(d.District, d.Site)?.Id == scheduleId)];
        }

        var (lamps, skipped, refusal) = CommandPlanner.Plan(request, devices, Parents(), _profiles);
        if (refusal is not null)
        {
            return (null, refusal);
        }

        skipped = LeaveToTheirNetwork(request, skipped);
        var receipt = Record(request, lamps, skipped, saveFirst);
        var sent = 0;
        foreach (var command in receipt.Sent)
        {
            if (KeptByNetwork(command))
            {
                continue;
            }

            sent++;
            try
            {
                await _channel.SendAsync(command, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                // It stays pending: the timeout raises command_not_followed, so a lost command is seen.
                LogSendFailed(command.DeviceId, command.CommandId, ex.Message);
            }
        }

        LogCommand(receipt.CommandId, request.By, request.TargetKind, request.Target, sent, receipt.Skipped.Count, request.Reason);
        return (receipt, null);
    }

    /// <summary>The commands of the history (and still pending), newest first.</summary>
    public IReadOnlyList<LampCommand> History(Func<LampCommand, bool> filter, int limit)
    {
        lock (_gate)
        {
            return [.. _state.History.AsEnumerable().Reverse().Where(filter).Take(limit)];
        }
    }

    public IReadOnlyList<LampCommand> Pending()
    {
        lock (_gate)
        {
            return [.. _state.Pending.Values.OrderBy(c => c.SentAt)];
        }
    }

    private Dictionary<string, string> Parents()
    {
        lock (_gate)
        {
            return _lamps.Parents();
        }
    }

    private CommandReceipt Record(CommandRequest request, IReadOnlyList<PlannedLamp> lamps, IReadOnlyList<SkippedLamp> skipped, bool saveFirst)
    {
        var now = _time.GetUtcNow();
        var commandId = $"cmd-{now:yyyyMMddHHmmssfff}-{Interlocked.Increment(ref _sequence):x4}{Random.Shared.Next(0x10000):x4}";
        var sent = new List<LampCommand>(lamps.Count);
        lock (_gate)
        {
            foreach (var lamp in lamps)
            {
                var d = lamp.Device;
                var command = ForNetwork(request, new LampCommand
                {
                    CommandId = commandId, DeviceId = d.DeviceId, Sector = d.Sector, District = d.District, Site = d.Site,
                    DeviceType = d.DeviceType, Profile = d.Profile, On = lamp.On, DimPct = lamp.DimPct, By = request.By,
                    Reason = request.Reason, SentAt = now, DueBy = now + _options.ConfirmTimeout, Until = Until(request, d, now),
                });
                if (_state.Pending.Remove(d.DeviceId, out var older))
                {
                    Conclude(older, CommandStatus.Superseded, now, $"replaced by {commandId}");
                }

                _state.Pending[d.DeviceId] = command;
                _state.Levels[d.DeviceId] = Lasting(request, new LampLevel(lamp.On, lamp.DimPct, commandId), _state.Levels.GetValueOrDefault(d.DeviceId), now);
                AddHistory(command);
                sent.Add(command);
            }

            foreach (var lamp in skipped.Where(s => s.Reason.StartsWith("offline", StringComparison.Ordinal)))
            {
                _state.Levels[lamp.DeviceId] = new LampLevel(request.Desired.On, request.Desired.DimPct, commandId);
            }

            // On disk before anything goes out: a crash after sending still knows what it waits for.
            if (saveFirst)
            {
                SaveLocked();
            }
            else
            {
                _dirty = true;
            }
        }

        foreach (var command in sent)
        {
            _outputs.Writer.TryWrite(new Output(command, Alert: null));
        }

        return new CommandReceipt(commandId, request, sent, skipped);
    }

    private void AddHistory(LampCommand command)
    {
        var i = _state.History.FindLastIndex(c => c.CommandId == command.CommandId && c.DeviceId == command.DeviceId);
        if (i >= 0)
        {
            _state.History[i] = command;
            return;
        }

        _state.History.Add(command);
        if (_state.History.Count > _options.HistoryLimit)
        {
            _state.History.RemoveRange(0, _state.History.Count - _options.HistoryLimit);
        }
    }

    /// <summary>Ends <paramref name="command"/> with <paramref name="status"/>: history, InfluxDB, and an alert event when it tells one.</summary>
    private void Conclude(LampCommand command, CommandStatus status, DateTimeOffset at, string detail)
    {
        var done = command with { Status = status, OutcomeAt = at, Detail = detail };
        AddHistory(done);
        _dirty = true;
        string? alertEvent = null;
        if (status is CommandStatus.TimedOut or CommandStatus.Refused)
        {
            _state.NotFollowed.Add(command.DeviceId);
            alertEvent = NotFollowedEvent;
        }
        else if (status == CommandStatus.Confirmed && _state.NotFollowed.Remove(command.DeviceId))
        {
            alertEvent = FollowedEvent;
        }

        _outputs.Writer.TryWrite(new Output(done, alertEvent));
    }

    private void SaveLocked()
    {
        try
        {
            lock (_saving)
            {
                _file.Save(_state, _lamps);
            }

            MarkSavedLocked();
        }
        catch (IOException ex)
        {
            LogSaveFailed(_file.Path, ex.Message);
        }
    }

    /// <summary>Under the gate: what memory holds is in the file (or, for the tick's save, in the temporary file about to be committed).</summary>
    private void MarkSavedLocked()
    {
        _dirty = false;
        _energyDirty = false;
        _savedAt = _time.GetUtcNow();
    }

    private readonly record struct Output(LampCommand? Command, string? Alert, Point? Point = null);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information, Message = "Lighting command {CommandId} by {By} to {TargetKind} {Target}: sent to {Sent} lamps, {Skipped} skipped ({Reason})")]
    private partial void LogCommand(string commandId, string by, TargetKind targetKind, string target, int sent, int skipped, string reason);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Warning, Message = "Lighting command {CommandId} to {DeviceId} could not be sent: {Error}; it times out unless the lamp follows")]
    private partial void LogSendFailed(string deviceId, string commandId, string error);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Error, Message = "Lighting state {Path} is unreadable ({Error}); starting without pending commands")]
    private partial void LogStateUnreadable(string path, string error);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Error, Message = "Lighting state {Path} could not be saved: {Error}")]
    private partial void LogSaveFailed(string path, string error);
}

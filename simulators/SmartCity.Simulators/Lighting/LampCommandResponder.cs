using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SmartCity.Simulators.Publishing;

namespace SmartCity.Simulators.Lighting;

/// <summary>What a simulated lamp does with a command.</summary>
public enum LampResponse
{
    /// <summary>Follows it and acknowledges (<c>command_ack</c>, outcome <c>done</c>).</summary>
    Obey,
    /// <summary>Acknowledges with outcome <c>refused</c> and keeps its level (a manual override, a local fault).</summary>
    Refuse,
    /// <summary>Follows it only after <see cref="LampCommandOptions.Lag"/>, so a short confirm timeout sees it late.</summary>
    Lag,
    /// <summary>Neither follows nor answers: the worker's timeout raises command_not_followed.</summary>
    Ignore,
}

/// <summary>How a simulated fleet answers commands; the shares are percentages of the lamps, chosen by device id (stable between runs).</summary>
public sealed record LampCommandOptions
{
    public double RefusePercent { get; init; }

    public double IgnorePercent { get; init; }

    public double LagPercent { get; init; }

    public TimeSpan Lag { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>The response of lamp <paramref name="deviceId"/>: the same lamp always answers the same way.</summary>
    public LampResponse ResponseOf(string deviceId)
    {
        ArgumentNullException.ThrowIfNull(deviceId);
        // FNV-1a: string.GetHashCode differs between processes, and a lamp must misbehave in every run.
        var hash = 2166136261u;
        foreach (var c in deviceId)
        {
            hash = (hash ^ c) * 16777619u;
        }

        var slot = hash % 10_000 / 100.0;
        return slot < RefusePercent ? LampResponse.Refuse
            : slot < RefusePercent + IgnorePercent ? LampResponse.Ignore
            : slot < RefusePercent + IgnorePercent + LagPercent ? LampResponse.Lag
            : LampResponse.Obey;
    }
}

/// <summary>
/// The simulated lamps' side of lighting control (docs/lighting-control.md): subscribes to the
/// fleet's cmd topics, sets each obeying lamp's level in the <see cref="StreetLightFleet"/> (its next
/// telemetry shows it) and acknowledges on the lamp's event topic; some lamps refuse, lag or ignore
/// on purpose (<see cref="LampCommandOptions"/>), so the worker's timeout alert can be seen.
/// </summary>
public sealed class LampCommandResponder : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly StreetLightFleet _fleet;
    private readonly LampCommandOptions _options;
    private readonly TimeProvider _time;
    private readonly string _topicRoot;
    private readonly Channel<MqttApplicationMessage> _commands = Channel.CreateUnbounded<MqttApplicationMessage>();
    private readonly CancellationTokenSource _stop = new();
    private Task _answering = Task.CompletedTask;
    private long _answered;

    public LampCommandResponder(StreetLightFleet fleet, string topicRoot, LampCommandOptions options, TimeProvider time)
    {
        _fleet = fleet;
        _topicRoot = topicRoot;
        _options = options;
        _time = time;
    }

    /// <summary>Commands answered (acknowledged, refused or applied late) so far.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    public async Task StartAsync(BrokerEndpoint broker, string clientId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(broker);
        _client.ApplicationMessageReceivedAsync += e =>
        {
            // Answered off the receive loop: a QoS 1 publish awaited here would wait for a PUBACK this loop reads.
            _commands.Writer.TryWrite(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        var options = new MqttClientOptionsBuilder().WithTcpServer(broker.Host, broker.Port).WithClientId(clientId).WithProtocolVersion(MqttProtocolVersion.V500);
        if (broker.Username is not null)
        {
            options.WithCredentials(broker.Username, broker.Password);
        }

        await _client.ConnectAsync(options.Build(), cancellationToken).ConfigureAwait(false);
        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter($"{_topicRoot}/lighting/+/+/streetlight/+/cmd", MqttQualityOfServiceLevel.AtLeastOnce).Build(), cancellationToken).ConfigureAwait(false);
        _answering = AnswerAllAsync();
    }

    private async Task AnswerAllAsync()
    {
        var lags = new List<Task>();
        await foreach (var message in _commands.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            var lamp = message.Topic.Split('/')[^2];
            using var json = JsonDocument.Parse(message.Payload);
            var command = (Id: json.RootElement.GetProperty("command_id").GetString()!, On: json.RootElement.GetProperty("on").GetBoolean(), Dim: json.RootElement.GetProperty("dim_pct").GetDouble());
            switch (_options.ResponseOf(lamp))
            {
                case LampResponse.Obey:
                    _fleet.Commanded[lamp] = (command.On, command.Dim);
                    await AckAsync(message.Topic, command.Id, "done", command.On, command.Dim).ConfigureAwait(false);
                    break;
                case LampResponse.Refuse:
                    await AckAsync(message.Topic, command.Id, "refused", command.On, command.Dim, "manual override at the lamp").ConfigureAwait(false);
                    break;
                case LampResponse.Lag:
                    lags.Add(LateAsync(message.Topic, lamp, command));
                    break;
            }
        }

        await Task.WhenAll(lags).ConfigureAwait(false);
    }

    private async Task LateAsync(string topic, string lamp, (string Id, bool On, double Dim) command)
    {
        try
        {
            await Task.Delay(_options.Lag, _time, _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        _fleet.Commanded[lamp] = (command.On, command.Dim);
        await AckAsync(topic, command.Id, "done", command.On, command.Dim).ConfigureAwait(false);
    }

    private async Task AckAsync(string cmdTopic, string commandId, string outcome, bool on, double dim, string? detail = null)
    {
        var ack = new Dictionary<string, object>
        {
            ["v"] = 1,
            ["ts"] = _time.GetUtcNow().UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
            ["event"] = "command_ack",
            ["command_id"] = commandId,
            ["outcome"] = outcome,
            ["on"] = on,
            ["dim_pct"] = dim,
        };
        if (detail is not null)
        {
            ack["detail"] = detail;
        }

        var topic = cmdTopic[..^"cmd".Length] + "event";
        await _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(JsonSerializer.SerializeToUtf8Bytes(ack))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build()).ConfigureAwait(false);
        Interlocked.Increment(ref _answered);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _commands.Writer.TryComplete();
        await _answering.ConfigureAwait(false);
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync().ConfigureAwait(false);
        }

        _client.Dispose();
        _stop.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Lighting;

/// <summary>How a test lamp answers a command.</summary>
public enum LampBehaviour
{
    /// <summary>Acknowledges with outcome done and reports telemetry at the new level.</summary>
    Ack,
    /// <summary>No acknowledgement: telemetry at the new level confirms.</summary>
    TelemetryOnly,
    /// <summary>Receives the command and does nothing.</summary>
    Ignore,
}

/// <summary>
/// Street lights as small MQTT clients on the real broker: each announces itself (retained birth),
/// subscribes to its own cmd topic, records every command it receives and answers as told.
/// Device timestamps come from <paramref name="clock"/> (the worker's, fake in schedule tests).
/// </summary>
public sealed class TestLamps(string root, string district, TimeProvider clock) : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly ConcurrentDictionary<string, (string Site, LampBehaviour Behaviour)> _lamps = new();
    private readonly ConcurrentDictionary<string, ConcurrentQueue<JsonElement>> _received = new();
    private readonly Lock _lock = new();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    // Answered off the client's receive loop: a QoS 1 publish awaited inside the handler would wait for a PUBACK that loop must read.
    private readonly Channel<MqttApplicationMessage> _commands = Channel.CreateUnbounded<MqttApplicationMessage>();
    private Task _answering = Task.CompletedTask;

    public string Topic(string site, string id) => $"{root}/lighting/{district}/{site}/streetlight/{id}";

    public async Task ConnectAsync()
    {
        _client.ApplicationMessageReceivedAsync += e =>
        {
            _commands.Writer.TryWrite(e.ApplicationMessage);
            return Task.CompletedTask;
        };
        _answering = AnswerAllAsync();
        await _client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(TestServers.MqttHost, TestServers.MqttPort)
            .WithCredentials(TestServers.MqttUsername, TestServers.MqttPassword)
            .WithClientId(TestServers.UniqueName("lamps-"))
            .Build());
        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter($"{root}/lighting/{district}/+/streetlight/+/cmd", MqttQualityOfServiceLevel.AtLeastOnce).Build());
    }

    /// <summary>A lamp is born (retained birth) and reports it is off.</summary>
    public async Task AddAsync(string site, string id, LampBehaviour behaviour)
    {
        _lamps[id] = (site, behaviour);
        _received[id] = new();
        var now = clock.GetUtcNow();
        await PublishAsync(Topic(site, id) + "/status", $$"""{"v":1,"ts":"{{Ts(now)}}","online":true,"profile":"streetlight","district":"{{district}}","site":"{{site}}"}""", retain: true);
        await PublishAsync(Topic(site, id) + "/telemetry", $$"""{"v":1,"ts":"{{Ts(now)}}","on":false,"dim_pct":0,"power_w":0}""");
    }

    /// <summary>A device of another type is born in the district (it is not one of these lamps and answers nothing).</summary>
    public Task AddOtherAsync(string site, string deviceType, string id) =>
        PublishAsync($"{root}/lighting/{district}/{site}/{deviceType}/{id}/status", $$"""{"v":1,"ts":"{{Ts(clock.GetUtcNow())}}","online":true,"profile":"{{deviceType}}","district":"{{district}}","site":"{{site}}"}""", retain: true);

    public IReadOnlyList<JsonElement> Received(string id) => [.. _received[id]];

    /// <summary>Waits until <paramref name="done"/> holds for what the lamps received (re-checked on every command).</summary>
    public async Task WaitAsync(Func<bool> done, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                next = _arrived.Task;
            }

            if (done())
            {
                return;
            }

            try
            {
                await next.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.True(done(), "the lamps did not receive the expected commands in time");
                return;
            }
        }
    }

    private async Task AnswerAllAsync()
    {
        await foreach (var message in _commands.Reader.ReadAllAsync())
        {
            await AnswerAsync(message);
        }
    }

    private async Task AnswerAsync(MqttApplicationMessage message)
    {
        var segments = message.Topic.Split('/');
        var id = segments[^2];
        var command = JsonDocument.Parse(message.Payload).RootElement.Clone();
        if (_lamps.TryGetValue(id, out var lamp))
        {
            var on = command.GetProperty("on").GetBoolean();
            var dim = command.GetProperty("dim_pct").GetDouble();
            var now = clock.GetUtcNow();
            var level = dim.ToString(CultureInfo.InvariantCulture);
            var power = (on ? 60 * dim / 100 : 0).ToString(CultureInfo.InvariantCulture);
            if (lamp.Behaviour == LampBehaviour.Ack)
            {
                await PublishAsync(Topic(lamp.Site, id) + "/event", $$"""{"v":1,"ts":"{{Ts(now)}}","event":"command_ack","command_id":"{{command.GetProperty("command_id").GetString()}}","outcome":"done","on":{{(on ? "true" : "false")}},"dim_pct":{{level}}}""");
            }

            if (lamp.Behaviour != LampBehaviour.Ignore)
            {
                await PublishAsync(Topic(lamp.Site, id) + "/telemetry", $$"""{"v":1,"ts":"{{Ts(now.AddMilliseconds(1))}}","on":{{(on ? "true" : "false")}},"dim_pct":{{level}},"power_w":{{power}}}""");
            }
        }

        // Recorded after answering: a test that saw the command also finds the answer on its way.
        _received.GetOrAdd(id, _ => new()).Enqueue(command);
        lock (_lock)
        {
            _arrived.TrySetResult();
            _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    private Task<MqttClientPublishResult> PublishAsync(string topic, string json, bool retain = false) =>
        _client.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes(json))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build());

    private static string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        _commands.Writer.TryComplete();
        await _answering;
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }
}

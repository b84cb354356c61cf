using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using MQTTnet.Protocol;
using SmartCity.Simulators.Devices;

namespace SmartCity.Simulators.Publishing;

/// <summary>Counters shared by the runner, the transport and the progress line (updated with Interlocked).</summary>
public sealed class RunCounters
{
    private long _sent;
    private long _acknowledged;
    private long _failed;
    private long _malformed;
    private long _events;
    private long _status;
    private long _simTimeTicks;

    public long Sent => Interlocked.Read(ref _sent);

    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    public long Failed => Interlocked.Read(ref _failed);

    public long Malformed => Interlocked.Read(ref _malformed);

    public long Events => Interlocked.Read(ref _events);

    public long Status => Interlocked.Read(ref _status);

    public DateTimeOffset SimTime
    {
        get => new(Interlocked.Read(ref _simTimeTicks), TimeSpan.Zero);
        set => Interlocked.Exchange(ref _simTimeTicks, value.UtcTicks);
    }

    public string? LastError { get; set; }

    internal void CountSent(in ScenarioMessage m)
    {
        Interlocked.Increment(ref _sent);
        SimTime = m.SimTime;
        if (m.Fault == Faults.FaultKind.MalformedBurst)
        {
            Interlocked.Increment(ref _malformed);
        }

        if (m.Kind == MessageKind.Event)
        {
            Interlocked.Increment(ref _events);
        }
        else if (m.Kind == MessageKind.Status)
        {
            Interlocked.Increment(ref _status);
        }
    }

    internal void CountAcknowledged() => Interlocked.Increment(ref _acknowledged);

    internal void CountFailed(string error)
    {
        Interlocked.Increment(ref _failed);
        LastError = error;
    }
}

/// <summary>Where a scenario's messages go: MQTT gateways, one MQTT connection per device, or a file.</summary>
public interface IScenarioTransport : IAsyncDisposable
{
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Returns once the message is on its way (an in-flight slot was free); its outcome lands in the counters.</summary>
    ValueTask SendAsync(ScenarioMessage message, CancellationToken cancellationToken);

    /// <summary>Waits until every message sent so far is acknowledged or failed.</summary>
    Task FlushAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Devices behind gateways: a few MQTT connections, each carrying the devices whose key maps to
/// it (so one device's messages stay in order on one connection), each with a bounded number of
/// QoS 1 publishes awaiting PUBACK. This is how 100,000 devices fit in one process. A gateway
/// cannot hold a last will per device, so when a device drops off, its gateway publishes the
/// device's will payload, retained, as the broker would.
/// </summary>
public sealed class GatewayTransport(BrokerEndpoint broker, string clientIdPrefix, int gateways, int inFlight, MqttQualityOfServiceLevel qos, RunCounters counters) : IScenarioTransport
{
    private readonly MqttPublisher[] _connections = new MqttPublisher[Math.Max(1, gateways)];
    private readonly SemaphoreSlim[] _windows = Enumerable.Range(0, Math.Max(1, gateways)).Select(_ => new SemaphoreSlim(Math.Max(1, inFlight))).ToArray();

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        for (var g = 0; g < _connections.Length; g++)
        {
            _connections[g] = await MqttPublisher.ConnectAsync(broker, $"{clientIdPrefix}-gw{g:00}", cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask SendAsync(ScenarioMessage message, CancellationToken cancellationToken)
    {
        var g = message.DeviceKey % _connections.Length;
        var connection = _connections[g];
        if (!connection.IsConnected)
        {
            throw new InvalidOperationException($"gateway {g} lost its broker connection after {counters.Acknowledged:N0} acknowledged messages ({counters.LastError})");
        }

        await _windows[g].WaitAsync(cancellationToken).ConfigureAwait(false);
        // Started here, in stream order; completed (and its slot released) in Track, which FlushAsync waits for.
        _ = Track(connection.PublishAsync(message.Topic, message.Payload, qos, message.Retain, CancellationToken.None), _windows[g], counters);
    }

    internal static async Task Track(Task publish, SemaphoreSlim window, RunCounters counters)
    {
        try
        {
            await publish.ConfigureAwait(false);
            counters.CountAcknowledged();
        }
        catch (Exception ex) when (ex is InvalidOperationException or MQTTnet.Exceptions.MqttCommunicationException or OperationCanceledException or ObjectDisposedException)
        {
            counters.CountFailed(ex.Message);
        }
        finally
        {
            window.Release();
        }
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var window in _windows)
        {
            for (var i = 0; i < Math.Max(1, inFlight); i++)
            {
                await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            window.Release(Math.Max(1, inFlight));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var c in _connections)
        {
            if (c is not null)
            {
                await c.DisposeAsync().ConfigureAwait(false);
            }
        }

        foreach (var w in _windows)
        {
            w.Dispose();
        }
    }
}

/// <summary>
/// Every device its own MQTT connection, as in the field: username = device id (when the broker
/// asks for credentials), a real last will on its status topic, and an offline fault that
/// disconnects "with will message" so the broker itself announces it. For fleets up to
/// <see cref="MaxDevices"/>.
/// </summary>
public sealed class DeviceConnectionsTransport(BrokerEndpoint broker, string clientIdPrefix, int inFlight, MqttQualityOfServiceLevel qos, RunCounters counters) : IScenarioTransport
{
    public const int MaxDevices = 2_000;

    private readonly ConcurrentDictionary<int, (MqttPublisher Client, SemaphoreSlim Window)> _devices = new();

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask SendAsync(ScenarioMessage message, CancellationToken cancellationToken)
    {
        var window = Math.Max(1, inFlight);
        switch (message.Action)
        {
            case ConnectionAction.Birth:
                await DropAsync(message.DeviceKey, withWill: false, cancellationToken).ConfigureAwait(false);
                var credentials = broker.Username is null ? broker : broker with { Username = message.DeviceId };
                var statusTopic = message.Topic;
                var client = await MqttPublisher.ConnectAsync(credentials, $"{clientIdPrefix}-{message.DeviceId}", new LastWill(statusTopic, Scenarios.CityGenerator.Will), cancellationToken).ConfigureAwait(false);
                _devices[message.DeviceKey] = (client, new SemaphoreSlim(window));
                break;
            case ConnectionAction.Will:
                await DropAsync(message.DeviceKey, withWill: true, cancellationToken).ConfigureAwait(false);
                // The broker publishes the will; this message is accounted as sent by the device.
                counters.CountAcknowledged();
                return;
        }

        if (!_devices.TryGetValue(message.DeviceKey, out var device))
        {
            throw new InvalidOperationException($"device {message.DeviceId} sends while it has no connection");
        }

        await device.Window.WaitAsync(cancellationToken).ConfigureAwait(false);
        _ = GatewayTransport.Track(device.Client.PublishAsync(message.Topic, message.Payload, qos, message.Retain, CancellationToken.None), device.Window, counters);
    }

    private async Task DropAsync(int key, bool withWill, CancellationToken cancellationToken)
    {
        if (!_devices.TryRemove(key, out var device))
        {
            return;
        }

        for (var i = 0; i < Math.Max(1, inFlight); i++)
        {
            await device.Window.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (withWill)
        {
            await device.Client.DisconnectWithWillAsync(cancellationToken).ConfigureAwait(false);
        }

        await device.Client.DisposeAsync().ConfigureAwait(false);
        device.Window.Dispose();
    }

    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        foreach (var (_, window) in _devices.Values)
        {
            for (var i = 0; i < Math.Max(1, inFlight); i++)
            {
                await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            window.Release(Math.Max(1, inFlight));
        }
    }

    public async ValueTask DisposeAsync()
    {
        // A normal end of a run is a normal disconnect: no will, so a finished demo is not a city-wide outage.
        foreach (var key in _devices.Keys.ToList())
        {
            await DropAsync(key, withWill: false, CancellationToken.None).ConfigureAwait(false);
        }
    }
}

/// <summary>Writes the stream as JSON lines (one message per line) instead of publishing it: --dry-run.</summary>
public sealed class JsonLinesTransport(TextWriter output, RunCounters counters) : IScenarioTransport
{
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async ValueTask SendAsync(ScenarioMessage message, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync(Format(message)).ConfigureAwait(false);
        counters.CountAcknowledged();
    }

    public static string Format(ScenarioMessage m)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("sim_time", m.SimTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("topic", m.Topic);
            json.WriteBoolean("retain", m.Retain);
            if (m.Fault is { } fault)
            {
                json.WriteString("fault", Faults.FaultKinds.Name(fault));
            }

            // Malformed payloads may not be JSON or even UTF-8: shown as text with U+FFFD for invalid bytes.
            json.WriteString("payload", Encoding.UTF8.GetString(m.Payload));
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    public Task FlushAsync(CancellationToken cancellationToken) => output.FlushAsync(cancellationToken);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

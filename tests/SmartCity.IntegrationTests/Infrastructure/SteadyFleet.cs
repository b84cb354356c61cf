using System.Diagnostics;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SmartCity.Simulators.Lighting;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// A paced QoS 1 stream of street-light messages that behaves like a fleet of real devices during
/// a broker outage: an unacknowledged publish is retried (same bytes, same device timestamp) after
/// reconnecting. <see cref="Published"/> counts messages the broker acknowledged, each once.
/// </summary>
public sealed class SteadyFleet : IAsyncDisposable
{
    private readonly StreetLightFleet _fleet;
    private readonly long _messages;
    private readonly double _rate;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _options;
    private readonly SemaphoreSlim _reconnect = new(1, 1);
    private readonly object _lock = new();
    private readonly List<(long Count, TaskCompletionSource Reached)> _waiters = [];
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;
    private long _published;
    private long _retries;

    public SteadyFleet(StreetLightFleet fleet, long messages, double rate, string clientId)
    {
        _fleet = fleet;
        _messages = messages;
        _rate = rate;
        _client = new MqttClientFactory().CreateMqttClient();
        _options = new MqttClientOptionsBuilder()
            .WithTcpServer(TestServers.MqttHost, TestServers.MqttPort)
            .WithCredentials(TestServers.MqttUsername, TestServers.MqttPassword)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithTimeout(TimeSpan.FromSeconds(5))
            .Build();
    }

    public long Published => Interlocked.Read(ref _published);

    /// <summary>Everything the worker will receive: the births, then the readings.</summary>
    public long TotalMessages => _messages + _fleet.Lamps.Count;

    /// <summary>Publishes retried after a lost connection (the same message again).</summary>
    public long Retries => Interlocked.Read(ref _retries);

    public static StreetLightFleet Fleet(string topicRoot, int lamps, long messages, double rate)
    {
        // Device time: the whole stream lies in the past, one reading per lamp every lamps/rate seconds.
        var interval = TimeSpan.FromSeconds(lamps / rate);
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()) - (interval * ((messages / lamps) + 2));
        return new StreetLightFleet(lamps, 4, topicRoot, seed: 11, start, interval);
    }

    public void Start(int inFlight = 32)
    {
        var clock = Stopwatch.StartNew();
        long next = -1;
        _run = Task.Run(async () =>
        {
            await ConnectAsync(_stop.Token);
            // Devices announce themselves first: the worker stores telemetry only from registered devices.
            foreach (var lamp in _fleet.Lamps)
            {
                await PublishUntilAcknowledgedAsync(_fleet.Birth(lamp, DateTimeOffset.UtcNow), _stop.Token, retain: true);
            }

            await Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var k = Interlocked.Increment(ref next);
                    if (k >= _messages)
                    {
                        return;
                    }

                    var due = TimeSpan.FromSeconds(k / _rate) - clock.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, _stop.Token); // pacing the device fleet, not waiting for a result
                    }

                    await PublishUntilAcknowledgedAsync(_fleet.Create(k), _stop.Token);
                    Reached(Interlocked.Increment(ref _published));
                }
            })));
        });
    }

    /// <summary>Completes when <paramref name="count"/> messages are acknowledged by the broker.</summary>
    public Task WhenPublishedAsync(long count, TimeSpan timeout)
    {
        lock (_lock)
        {
            if (Published >= count)
            {
                return Task.CompletedTask;
            }

            var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, tcs));
            return tcs.Task.WaitAsync(timeout);
        }
    }

    public async Task CompletionAsync(TimeSpan timeout) => await _run!.WaitAsync(timeout);

    private void Reached(long published)
    {
        lock (_lock)
        {
            foreach (var w in _waiters.Where(w => w.Count <= published).ToList())
            {
                w.Reached.TrySetResult();
                _waiters.Remove(w);
            }
        }
    }

    private async Task PublishUntilAcknowledgedAsync(SimulatedMessage m, CancellationToken ct, bool retain = false)
    {
        var message = new MqttApplicationMessageBuilder()
            .WithTopic(m.Topic)
            .WithPayload(m.Payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithRetainFlag(retain)
            .Build();
        while (true)
        {
            try
            {
                var result = await _client.PublishAsync(message, ct);
                if (result.IsSuccess)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // Lost the broker: reconnect, then send the same message again.
            }

            Interlocked.Increment(ref _retries);
            await ConnectAsync(ct);
        }
    }

    private async Task ConnectAsync(CancellationToken ct)
    {
        await _reconnect.WaitAsync(ct);
        try
        {
            while (!_client.IsConnected)
            {
                try
                {
                    var result = await _client.ConnectAsync(_options, ct);
                    if (result.ResultCode == MqttClientConnectResultCode.Success)
                    {
                        return;
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                }

                await Task.Delay(100, ct); // a device's reconnect backoff
            }
        }
        finally
        {
            _reconnect.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            if (_run is not null)
            {
                await _run;
            }
        }
        catch (OperationCanceledException)
        {
        }

        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
        _stop.Dispose();
        _reconnect.Dispose();
    }
}

using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>The retained alert states seen on MQTT, with a wait on the next matching one.</summary>
public sealed class AlertStates
{
    private readonly ConcurrentQueue<JsonElement> _seen = new();
    private readonly ConcurrentQueue<string> _topics = new();
    private readonly object _lock = new();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Every state seen so far (JSON payloads), in arrival order.</summary>
    public IReadOnlyList<JsonElement> Seen => [.. _seen];

    /// <summary>Every topic a message arrived on, in arrival order (cleared states included).</summary>
    public IReadOnlyList<string> Topics => [.. _topics];

    public Task<IAsyncDisposable> SubscribeAsync(string filter) => SubscribeAsAsync(TestServers.MqttUsername, TestServers.MqttPassword, filter);

    /// <summary>Subscribes to <paramref name="filters"/> on one connection of <paramref name="user"/> (a broker ACL decides what arrives).</summary>
    public async Task<IAsyncDisposable> SubscribeAsAsync(string user, string password, params string[] filters)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            _topics.Enqueue(e.ApplicationMessage.Topic);
            if (e.ApplicationMessage.Payload.Length > 0)
            {
                _seen.Enqueue(JsonDocument.Parse(e.ApplicationMessage.Payload).RootElement.Clone());
            }

            lock (_lock)
            {
                _arrived.TrySetResult();
                _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            return Task.CompletedTask;
        };
        await client.ConnectAsync(new MqttClientOptionsBuilder().WithTcpServer(TestServers.MqttHost, TestServers.MqttPort).WithCredentials(user, password).WithClientId(TestServers.UniqueName("watch-")).Build());
        var subscribe = new MqttClientSubscribeOptionsBuilder();
        foreach (var filter in filters)
        {
            subscribe.WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce);
        }

        await client.SubscribeAsync(subscribe.Build());
        return new Subscription(client);
    }

    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                next = _arrived.Task;
            }

            foreach (var s in _seen)
            {
                if (match(s))
                {
                    return s;
                }
            }

            await next.WaitAsync(cts.Token);
        }
    }

    private sealed class Subscription(IMqttClient client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await client.DisconnectAsync();
            client.Dispose();
        }
    }
}

/// <summary>A local HTTP receiver for the webhook (refuses the first N calls with 503).</summary>
public sealed class WebhookReceiver : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly List<(string Event, string Alert, string Timestamp, string Signature, byte[] Body)> _calls = [];
    private readonly object _lock = new();
    private TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _failFirst;

    public WebhookReceiver(int failFirst)
    {
        _failFirst = failFirst;
        // HttpListener cannot bind port 0: probe a free port, and pick another if someone took it in between.
        for (var attempt = 1; ; attempt++)
        {
            using (var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                Url = $"http://127.0.0.1:{((IPEndPoint)probe.LocalEndpoint).Port}/hooks/alerts/";
            }

            _listener.Prefixes.Clear();
            _listener.Prefixes.Add(Url);
            try
            {
                _listener.Start();
                break;
            }
            catch (HttpListenerException) when (attempt < 5)
            {
            }
        }

        _ = Task.Run(LoopAsync);
    }

    public string Url { get; private set; }

    public int Refused { get; private set; }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            if (Interlocked.Decrement(ref _failFirst) >= 0)
            {
                Refused++;
                context.Response.StatusCode = 503;
                context.Response.Close();
                continue;
            }

            var json = JsonDocument.Parse(body.ToArray()).RootElement;
            lock (_lock)
            {
                _calls.Add((context.Request.Headers["X-SmartCity-Event"]!, json.GetProperty("alert").GetProperty("id").GetString()!,
                    context.Request.Headers["X-SmartCity-Timestamp"]!, context.Request.Headers["X-SmartCity-Signature"]!["sha256=".Length..], body.ToArray()));
                _arrived.TrySetResult();
                _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            context.Response.StatusCode = 204;
            context.Response.Close();
        }
    }

    public async Task<List<(string Event, string Alert, string Timestamp, string Signature, byte[] Body)>> WaitForAsync(
        Func<List<(string Event, string Alert, string Timestamp, string Signature, byte[] Body)>, bool> done, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (_lock)
            {
                if (done(_calls))
                {
                    return [.. _calls];
                }

                next = _arrived.Task;
            }

            await next.WaitAsync(cts.Token);
        }
    }

    public void Dispose() => _listener.Close();
}

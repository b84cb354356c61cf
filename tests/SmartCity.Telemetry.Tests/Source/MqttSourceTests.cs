using System.Buffers;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>The source's connect/subscribe/ack/stop logic against a fake client (no broker).</summary>
public sealed class MqttSourceTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);
    private readonly FakeMqttSourceClient _client = new();
    private readonly RecordingHandler _handler = new();
    private readonly PipelineMetrics _metrics = new();
    private readonly MqttSource _source;

    public MqttSourceTests()
    {
        var options = new MqttSourceOptions { Host = "broker.test", ClientId = "unit", Subscriptions = ["city/#", "other/#"] };
        _handler.Client = _client;
        _source = new MqttSource(Options.Create(options), _handler, _metrics, new FakeTimeProvider(), NullLogger<MqttSource>.Instance, _client);
    }

    [Fact]
    public async Task Start_SessionNotPresent_SubscribesEveryFilter()
    {
        await _source.StartAsync(CancellationToken.None);
        await _client.Connected.Task.WaitAsync(Timeout);

        Assert.Equal(["city/#", "other/#"], await _client.Subscribed.Task.WaitAsync(Timeout));
        Assert.True(_metrics.Snapshot().SourceConnected);
        await _source.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Message_HandlerAcknowledges_AckReachesTheClient()
    {
        await _source.StartAsync(CancellationToken.None);
        await _client.Subscribed.Task.WaitAsync(Timeout);

        var token = new object();
        await _client.DeliverAsync("city/x", token);

        var (topic, ack) = Assert.Single(_handler.Messages);
        Assert.Equal("city/x", topic);
        Assert.Empty(_client.Acknowledged);
        await ack(CancellationToken.None);
        Assert.Same(token, Assert.Single(_client.Acknowledged));
        Assert.Equal(1, _metrics.Snapshot().Received);
        await _source.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Acknowledge_AfterTheConnectionDropped_ThrowsAndSendsNothing()
    {
        await _source.StartAsync(CancellationToken.None);
        await _client.Subscribed.Task.WaitAsync(Timeout);
        await _client.DeliverAsync("city/x", new object());
        var (_, ack) = Assert.Single(_handler.Messages);

        await _client.DropAsync();

        await Assert.ThrowsAsync<InvalidOperationException>(() => ack(CancellationToken.None));
        Assert.Empty(_client.Acknowledged);
        await _source.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Stop_DrainsTheHandlerBeforeDisconnecting_AndTakesNoMoreMessages()
    {
        await _source.StartAsync(CancellationToken.None);
        await _client.Subscribed.Task.WaitAsync(Timeout);

        await _source.StopAsync(CancellationToken.None);
        await _client.DeliverAsync("city/late", new object());

        Assert.Equal(["drain", "disconnect(normal)"], _client.Calls.Where(c => c is "drain" or "disconnect(normal)"));
        Assert.Empty(_handler.Messages);
        Assert.False(_metrics.Snapshot().SourceConnected);
    }

    public void Dispose()
    {
        _source.Dispose();
        _metrics.Dispose();
    }

    private sealed class RecordingHandler : IMessageHandler
    {
        public List<(string Topic, Func<CancellationToken, Task> Ack)> Messages { get; } = [];

        public FakeMqttSourceClient? Client { get; set; }

        public Task HandleAsync(string topic, ReadOnlySequence<byte> payload, Func<CancellationToken, Task> acknowledge, CancellationToken intake)
        {
            Messages.Add((topic, acknowledge));
            return Task.CompletedTask;
        }

        public Task DrainAsync(TimeSpan timeout, CancellationToken cancellationToken)
        {
            Client?.Calls.Enqueue("drain");
            return Task.CompletedTask;
        }
    }
}

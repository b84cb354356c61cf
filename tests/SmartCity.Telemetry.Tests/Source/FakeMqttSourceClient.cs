using System.Buffers;
using System.Text;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>The source's client seam without a broker: connects at once, records subscriptions, acks and disconnects.</summary>
internal sealed class FakeMqttSourceClient : IMqttSourceClient
{
    public TaskCompletionSource Connected { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource<IReadOnlyList<string>> Subscribed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<object> Acknowledged { get; } = [];

    public System.Collections.Concurrent.ConcurrentQueue<string> Calls { get; } = new();

    public bool IsConnected { get; private set; }

    public Func<SourceMessage, Task>? MessageReceived { get; set; }

    public Func<SourceDisconnect, Task>? Disconnected { get; set; }

    public Task<bool> ConnectAsync(MqttSourceOptions options, CancellationToken cancellationToken)
    {
        IsConnected = true;
        Calls.Enqueue("connect");
        Connected.TrySetResult();
        return Task.FromResult(false);
    }

    public Task SubscribeAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken)
    {
        Calls.Enqueue("subscribe");
        Subscribed.TrySetResult(filters);
        return Task.CompletedTask;
    }

    public Task UnsubscribeAsync(IReadOnlyList<string> filters, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task DisconnectAsync(bool normal, CancellationToken cancellationToken)
    {
        Calls.Enqueue(normal ? "disconnect(normal)" : "disconnect");
        IsConnected = false;
        return Task.CompletedTask;
    }

    public Task AcknowledgeAsync(object ackToken, CancellationToken cancellationToken)
    {
        Acknowledged.Add(ackToken);
        return Task.CompletedTask;
    }

    public Task DeliverAsync(string topic, object ackToken) =>
        MessageReceived!(new SourceMessage(topic, new ReadOnlySequence<byte>(Encoding.UTF8.GetBytes("{}")), ackToken));

    public Task DropAsync()
    {
        IsConnected = false;
        return Disconnected!(new SourceDisconnect(true, "test", null));
    }

    public void Dispose()
    {
    }
}

using System.Threading.Channels;
using SmartCity.Telemetry.Pipeline;

namespace SmartCity.Telemetry.Buffering;

/// <summary>
/// A received message on its way to storage. <see cref="Line"/> is the line-protocol point (telemetry
/// or dead letter), or null for a message that is only to be acknowledged (ignored kinds).
/// <see cref="Ack"/> tells the broker the message is safe; it runs only after the sink stored the line.
/// </summary>
public readonly record struct BufferedMessage(string? Line, bool IsDeadLetter, Func<CancellationToken, Task>? Ack);

/// <summary>
/// The hand-off between the source and the sink: bounded, in order, and unacknowledged until stored.
/// Its bound is above the MQTT receive maximum, so in normal operation the broker (which holds every
/// unacknowledged message in the persistent session) is the only place that waits.
/// </summary>
public sealed class IngestBuffer
{
    private readonly Channel<BufferedMessage> _channel;
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IngestBuffer(int capacity, PipelineMetrics metrics)
    {
        _channel = Channel.CreateBounded<BufferedMessage>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        metrics.ObserveBufferDepth(() => _channel.Reader.Count);
    }

    public ChannelReader<BufferedMessage> Reader => _channel.Reader;

    public int Depth => _channel.Reader.Count;

    /// <summary>Completes when the sink has stored and acknowledged everything after <see cref="Complete"/>.</summary>
    public Task Drained => _drained.Task;

    /// <summary>Enqueues; false once the buffer is closed for shutdown (the message stays unacknowledged).</summary>
    public async ValueTask<bool> TryEnqueueAsync(BufferedMessage message, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(message, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (ChannelClosedException)
        {
            return false;
        }
    }

    /// <summary>Stops intake; the sink drains what is queued, then signals <see cref="Drained"/>.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    internal void MarkDrained() => _drained.TrySetResult();
}

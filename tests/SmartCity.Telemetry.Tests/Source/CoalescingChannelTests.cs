using System.Buffers;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Channel;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Tests.Source;

/// <summary>The acks of one spool commit leave in one socket write, in order (a scripted socket whose writes can be held).</summary>
public sealed class CoalescingChannelTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WriteAsync_PacketsWrittenWhileASocketWriteIsUnderway_LeaveTogetherInOrder()
    {
        var socket = new ScriptedSocket();
        using var channel = new CoalescingChannel(socket);
        var hold = new TaskCompletionSource();
        socket.Hold = hold;

        await channel.WriteAsync(Packet(1), true, CancellationToken.None).WaitAsync(Generous);
        await socket.Writing.Task.WaitAsync(Generous); // the first is on its way, held in the socket
        for (byte i = 2; i <= 5; i++)
        {
            // Each completes at once: copied, not waiting for the socket.
            Assert.True(channel.WriteAsync(Packet(i), true, CancellationToken.None).IsCompletedSuccessfully);
        }

        hold.SetResult();
        await channel.DisconnectAsync(CancellationToken.None).WaitAsync(Generous);

        Assert.Equal([[1, 1], [2, 2, 3, 3, 4, 4, 5, 5]], socket.Writes);
        Assert.True(socket.Disconnected);
    }

    [Fact]
    public async Task WriteAsync_PacketInTwoParts_WaitsForItsEnd()
    {
        var socket = new ScriptedSocket();
        using var channel = new CoalescingChannel(socket);

        await channel.WriteAsync(Packet(7), false, CancellationToken.None);
        await channel.WriteAsync(Packet(8), true, CancellationToken.None);
        await channel.DisconnectAsync(CancellationToken.None).WaitAsync(Generous);

        Assert.Equal([[7, 7, 8, 8]], socket.Writes);
    }

    [Fact]
    public async Task WriteAsync_AfterTheSocketFailed_Throws()
    {
        var socket = new ScriptedSocket { Failure = new IOException("connection reset") };
        using var channel = new CoalescingChannel(socket);

        await channel.WriteAsync(Packet(1), true, CancellationToken.None);
        await channel.DisconnectAsync(CancellationToken.None).WaitAsync(Generous);

        await Assert.ThrowsAsync<IOException>(() => channel.WriteAsync(Packet(2), true, CancellationToken.None));
    }

    private static ReadOnlySequence<byte> Packet(byte b) => new([b, b]);

    private sealed class ScriptedSocket : IMqttChannel
    {
        public List<byte[]> Writes { get; } = [];

        public TaskCompletionSource? Hold { get; set; }

        public TaskCompletionSource Writing { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Exception? Failure { get; init; }

        public bool Disconnected { get; private set; }

        public X509Certificate2 ClientCertificate => null!;

        public EndPoint RemoteEndPoint => new IPEndPoint(IPAddress.Loopback, 1883);

        public EndPoint LocalEndPoint => new IPEndPoint(IPAddress.Loopback, 50000);

        public bool IsSecureConnection => false;

        public Task ConnectAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task DisconnectAsync(CancellationToken cancellationToken)
        {
            Disconnected = true;
            return Task.CompletedTask;
        }

        public Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(0);

        public async Task WriteAsync(ReadOnlySequence<byte> buffer, bool isEndOfPacket, CancellationToken cancellationToken)
        {
            lock (Writes)
            {
                Writes.Add(buffer.ToArray());
            }

            Writing.TrySetResult();
            if (Failure is not null)
            {
                throw Failure;
            }

            if (Hold is { } hold)
            {
                Hold = null;
                await hold.Task;
            }
        }

        public void Dispose()
        {
        }
    }
}

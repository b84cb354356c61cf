using System.Globalization;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Load;

/// <summary>
/// <c>SmartCity.Bench null-sub</c>: the broker's ceiling. A subscriber that does nothing with a
/// message but count it, connected the way the worker connects (MQTTnet 5, MQTT 5, persistent
/// session, QoS 1 subscription, the same Receive Maximum) and acknowledging each message as soon as
/// it arrives. Telemetry messages are counted (births are not part of the measured load). Prints <c>READY</c> once subscribed, <c>WARM ms</c> after the warm-up messages, and
/// <c>RESULT {json}</c> after <c>--count</c> further messages, or when they stop coming.
/// </summary>
public static class NullSubscriber
{
    public sealed record Result(long Received, long Total, long FirstMs, long LastMs, bool Complete);

    public static async Task<int> RunAsync(Args args)
    {
        var host = args.String("--host", "127.0.0.1");
        var port = args.Int("--port", 1883);
        var clientId = args.String("--client-id", "bench-null-sub");
        var filter = args.String("--filter", "city/#");
        var warmup = args.Long("--warmup", 0);
        var count = args.Long("--count", 100_000);
        var receiveMaximum = args.Int("--receive-maximum", 10_000);
        var idle = TimeSpan.FromSeconds(args.Double("--idle-seconds", 5));
        var maxSeconds = TimeSpan.FromSeconds(args.Double("--max-seconds", 300));
        args.EnsureAllRead();

        long received = 0;
        long firstMs = 0;
        long lastMs = 0;
        long lastTick = 0;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            // Births (retained status messages) are not part of the measured load.
            if (!e.ApplicationMessage.Topic.EndsWith("/telemetry", StringComparison.Ordinal))
            {
                return Task.CompletedTask;
            }

            var n = Interlocked.Increment(ref received);
            Volatile.Write(ref lastTick, Environment.TickCount64);
            if (n == warmup && warmup > 0)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"WARM {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}"));
            }
            else if (n == warmup + 1)
            {
                firstMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            }

            if (n == warmup + count)
            {
                lastMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
                done.TrySetResult();
            }

            return Task.CompletedTask;
        };

        var (user, password) = BenchEnvironment.BrokerAccount();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(host, port)
            .WithCredentials(user, password)
            .WithClientId(clientId)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithSessionExpiryInterval((uint)TimeSpan.FromDays(1).TotalSeconds)
            .WithReceiveMaximum((ushort)receiveMaximum)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .Build();
        var connected = await client.ConnectAsync(options);
        if (connected.ResultCode != MqttClientConnectResultCode.Success)
        {
            await Console.Error.WriteLineAsync($"null-sub: broker refused: {connected.ResultCode}");
            return 1;
        }

        await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter(filter, MqttQualityOfServiceLevel.AtLeastOnce).Build());
        Console.WriteLine("READY");

        var deadline = DateTime.UtcNow + maxSeconds;
        while (!done.Task.IsCompleted && DateTime.UtcNow < deadline)
        {
            await Task.WhenAny(done.Task, Task.Delay(100));
            var n = Interlocked.Read(ref received);
            // QoS 0 may lose messages: stop when they stop coming (after the measured ones began).
            if (n > warmup && Environment.TickCount64 - Volatile.Read(ref lastTick) > idle.TotalMilliseconds)
            {
                break;
            }
        }

        var total = Interlocked.Read(ref received);
        var complete = done.Task.IsCompleted;
        if (!complete && total > warmup)
        {
            lastMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - (Environment.TickCount64 - Volatile.Read(ref lastTick));
        }

        // Session expiry 0 on the way out: the broker forgets this session and queues nothing more for it.
        await client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().WithSessionExpiryInterval(0).Build());
        Console.WriteLine("RESULT " + JsonSerializer.Serialize(new Result(Math.Max(0, total - warmup), total, firstMs, lastMs, complete)));
        await Lingering.WaitForReleaseAsync();
        return complete ? 0 : 1;
    }
}

using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Options;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Lighting;

/// <summary>
/// Commands on the device contract's <c>cmd</c> topic
/// (<c>{root}/{sector}/{district}/{site}/{deviceType}/{deviceId}/cmd</c>) at QoS 1, not retained
/// (a lamp that reconnects is sent its level again by the worker, never an old command by the
/// broker). Its own connection (client id <c>{Mqtt:ClientId}-commands</c>), opened on first use, with
/// the same broker, account and TLS settings as ingestion.
/// </summary>
public sealed class MqttCommandChannel(IOptions<MqttSourceOptions> mqtt, IOptions<DecodingOptions> decoding, TimeProvider time) : ICommandChannel, IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly SemaphoreSlim _gate = new(1, 1);

    public static string TopicFor(string root, LampCommand c) => $"{root}/{c.Sector}/{c.District}/{c.Site}/{c.DeviceType}/{c.DeviceId}/cmd";

    /// <summary>The command as the lamp reads it (docs/device-contract.md, "Commands").</summary>
    public static byte[] Payload(LampCommand c, DateTimeOffset now) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
    {
        ["v"] = 1,
        ["ts"] = now.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture),
        ["command_id"] = c.CommandId,
        ["on"] = c.On,
        ["dim_pct"] = c.DimPct,
        ["by"] = c.By,
        ["reason"] = c.Reason,
    });

    public async Task SendAsync(LampCommand command, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(command);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        await _gate.WaitAsync(timeout.Token).ConfigureAwait(false);
        try
        {
            if (!_client.IsConnected)
            {
                var o = mqtt.Value;
                var options = new MqttClientOptionsBuilder()
                    .WithSmartCityBroker(o)
                    .WithClientId(o.ClientId + "-commands")
                    .WithProtocolVersion(MqttProtocolVersion.V500)
                    .WithTimeout(o.ConnectTimeout)
                    .Build();
                var connected = await _client.ConnectAsync(options, timeout.Token).ConfigureAwait(false);
                if (connected.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new InvalidOperationException($"broker refused the command publisher: {connected.ResultCode} {connected.ReasonString}");
                }
            }

            var message = new MqttApplicationMessageBuilder()
                .WithTopic(TopicFor(decoding.Value.TopicRoot, command))
                .WithPayload(Payload(command, time.GetUtcNow()))
                .WithContentType("application/json")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            var result = await _client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
            if (!result.IsSuccess)
            {
                // mosquitto answers "not authorized" here when the worker's account may not write cmd topics.
                throw new InvalidOperationException($"broker refused the command: {result.ReasonCode} {result.ReasonString}");
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
        }

        _client.Dispose();
        _gate.Dispose();
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Alerting.Notifiers;
using SmartCity.Telemetry.Partitioning;
using SmartCity.Telemetry.Source;

namespace SmartCity.Telemetry.Alerting.Notifiers.Mqtt;

/// <summary>
/// Publishes the current state of every alert, retained, on
/// <c>smartcity/alerts/{sector}/{district}/{alertId}</c>, or <c>smartcity/alerts/{city}/{sector}/...</c>
/// for a worker of a city (<c>Tenancy:City</c>, set by the partition map) so that cities sharing a
/// broker can each be given only their own alerts by its ACL: a control room or a panel that subscribes
/// sees every open alert at once, and each change as it happens. Its own connection (client id
/// <c>{Mqtt:ClientId}-alerts</c>), so a slow broker never holds back ingestion. When the store
/// forgets a resolved alert (<c>Alerting:KeepResolvedFor</c>, default 7 days) its topic is cleared
/// (a zero-length retained publish), so the broker keeps only the alerts the API still knows.
/// </summary>
public sealed class MqttAlertStateNotifier(IOptions<MqttSourceOptions> mqtt, IOptions<TenancyOptions> tenancy) : IAlertNotifier, IAsyncDisposable
{
    public const string TopicRoot = "smartcity/alerts";

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly SemaphoreSlim _connect = new(1, 1);

    /// <summary>
    /// The alert's topic. A city's alerts carry the city as their first level rather than going under
    /// the city's device root: the worker subscribes to that root and would receive its own alerts back.
    /// </summary>
    public static string TopicFor(Alert alert, string? city = null) => city is { Length: > 0 }
        ? $"{TopicRoot}/{city}/{alert.Sector}/{alert.District}/{alert.Id}"
        : $"{TopicRoot}/{alert.Sector}/{alert.District}/{alert.Id}";

    public async ValueTask OnTransitionAsync(AlertTransition transition, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        await EnsureConnectedAsync(timeout.Token).ConfigureAwait(false);
        // A zero-length retained message deletes the retained one (MQTT 5, 3.3.1.3).
        var message = transition.Kind == AlertTransitionKind.Removed
            ? new MqttApplicationMessageBuilder()
                .WithTopic(TopicFor(transition.Alert, tenancy.Value.City))
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainFlag(true)
                .Build()
            : new MqttApplicationMessageBuilder()
                .WithTopic(TopicFor(transition.Alert, tenancy.Value.City))
                .WithPayload(JsonSerializer.SerializeToUtf8Bytes(transition.Alert, Json))
                .WithContentType("application/json")
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .WithRetainFlag(true)
                .Build();
        var result = await _client.PublishAsync(message, timeout.Token).ConfigureAwait(false);
        if (!result.IsSuccess)
        {
            throw new InvalidOperationException($"broker refused the alert state: {result.ReasonCode} {result.ReasonString}");
        }
    }

    private async Task EnsureConnectedAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            return;
        }

        await _connect.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_client.IsConnected)
            {
                return;
            }

            var o = mqtt.Value;
            // Same broker, account and TLS settings as the ingestion connection, under its own client id.
            var options = new MqttClientOptionsBuilder()
                .WithSmartCityBroker(o)
                .WithClientId(o.ClientId + "-alerts")
                .WithProtocolVersion(MqttProtocolVersion.V500)
                .WithTimeout(o.ConnectTimeout);

            var result = await _client.ConnectAsync(options.Build(), cancellationToken).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                throw new InvalidOperationException($"broker refused the alert publisher: {result.ResultCode} {result.ReasonString}");
            }
        }
        finally
        {
            _connect.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptionsBuilder().Build(), CancellationToken.None).ConfigureAwait(false);
        }

        _client.Dispose();
        _connect.Dispose();
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Alerting;

/// <summary>
/// The broker keeps only the alerts the worker still knows: once a resolved alert is forgotten
/// (<c>Alerting:KeepResolvedFor</c>), its retained state on <c>smartcity/alerts/...</c> is cleared.
/// </summary>
public sealed class AlertRetentionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Tick_ResolvedAlertForgotten_FreshSubscriberSeesNoRetainedState()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dz");
        // Forgotten at the first tick (every 5 s) after its resolve.
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?> { ["Alerting:KeepResolvedFor"] = "00:00:00" });
        await using var door = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("door-"), CancellationToken.None);
        var topic = $"{worker.TopicRoot}/security/{district}/town-hall/door_contact/door-0001";
        var now = DateTimeOffset.UtcNow;
        await Publish(door, topic + "/status", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-2))}}","online":true,"profile":"door_contact","district":"{{district}}","site":"town-hall"}""");
        await Publish(door, topic + "/event", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-1))}}","event":"forced"}""");

        using var http = worker.CreateClient(TestApiKeys.Operator);
        var id = await PollAsync(async () =>
        {
            var alerts = await http.GetFromJsonAsync<JsonElement>($"/api/alerts?district={district}");
            return alerts.EnumerateArray().Where(a => a.GetProperty("rule").GetString() == "door_forced").Select(a => a.GetProperty("id").GetString()).FirstOrDefault();
        });
        var stateTopic = $"smartcity/alerts/security/{district}/{id}";
        Assert.Contains("\"raised\"", await PollAsync(() => RetainedAsync(district, stateTopic)), StringComparison.Ordinal);

        using (var resolve = await http.PostAsJsonAsync($"/api/alerts/{id}/resolve", new { comment = "door secured" }))
        {
            Assert.Equal(HttpStatusCode.OK, resolve.StatusCode);
        }

        await PollAsync(async () =>
        {
            using var response = await http.GetAsync($"/api/alerts/{id}");
            return response.StatusCode == HttpStatusCode.NotFound ? "forgotten" : null;
        });

        // The clear goes through the notifier's own queue after the resolve: a fresh subscriber finds nothing for this alert.
        await PollAsync(async () => await RetainedAsync(district, stateTopic) is null ? "cleared" : null);
    }

    /// <summary>
    /// What a new subscriber is handed as retained on <paramref name="stateTopic"/>, or null. A sentinel
    /// published after the subscription comes after every retained message, so its arrival means "all seen".
    /// </summary>
    private static async Task<string?> RetainedAsync(string district, string stateTopic)
    {
        var sentinelTopic = $"smartcity/alerts/security/{district}/{TestServers.UniqueName("sentinel-")}";
        var sentinel = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string? retained = null;
        var (subscriber, code) = await BrokerAccounts.ConnectAsync(TestServers.MqttUsername, TestServers.MqttPassword);
        using (subscriber)
        {
            Assert.Equal(MqttClientConnectResultCode.Success, code);
            subscriber.ApplicationMessageReceivedAsync += e =>
            {
                if (e.ApplicationMessage.Topic == sentinelTopic)
                {
                    sentinel.TrySetResult();
                }
                else if (e.ApplicationMessage.Topic == stateTopic && e.ApplicationMessage.Retain && e.ApplicationMessage.Payload.Length > 0)
                {
                    retained = Encoding.UTF8.GetString(e.ApplicationMessage.Payload);
                }

                return Task.CompletedTask;
            };
            await subscriber.SubscribeAsync(new MqttClientSubscribeOptionsBuilder().WithTopicFilter($"smartcity/alerts/security/{district}/#", MqttQualityOfServiceLevel.AtLeastOnce).Build());

            // Only the worker's account may write under smartcity/alerts.
            var (publisher, publisherCode) = await BrokerAccounts.ConnectAsync(TestServers.MqttWorkerUsername, TestServers.MqttWorkerPassword);
            using (publisher)
            {
                Assert.Equal(MqttClientConnectResultCode.Success, publisherCode);
                await publisher.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(sentinelTopic).WithPayload("{}"u8.ToArray()).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                await publisher.DisconnectAsync();
            }

            await sentinel.Task.WaitAsync(Timeout);
            await subscriber.DisconnectAsync();
        }

        return retained;
    }

    /// <summary>Polls until <paramref name="probe"/> answers, with a generous deadline.</summary>
    private static async Task<string> PollAsync(Func<Task<string?>> probe)
    {
        using var deadline = new CancellationTokenSource(Timeout);
        while (true)
        {
            if (await probe() is { } answer)
            {
                return answer;
            }

            deadline.Token.ThrowIfCancellationRequested();
            await Task.Delay(TimeSpan.FromMilliseconds(200), deadline.Token);   // the polling interval, not a wait for a result
        }
    }

    private static string Ts(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static Task Publish(MqttPublisher publisher, string topic, string json) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
}

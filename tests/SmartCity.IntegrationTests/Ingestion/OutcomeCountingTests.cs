using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Devices;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Ingestion;

/// <summary>
/// Every message the source receives lands in exactly one outcome: accepted, rejected or ignored
/// (issue 24: received 247 against 148 + 94 + 1). A mixed stream of what a real city sends goes
/// through mosquitto into the worker, and /api/pipeline must add up once everything is stored.
/// </summary>
public sealed class OutcomeCountingTests
{
    [Fact]
    public async Task MixedStream_BirthsWillsClearsCommandsBadAndGood_ReceivedEqualsAcceptedPlusRejectedPlusIgnored()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("mix-"), CancellationToken.None);
        var root = worker.TopicRoot;
        string Topic(string id, string kind) => $"{root}/lighting/d01/d01-street-001/streetlight/{id}/{kind}";
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-5));
        string Reading(int i) => $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(i))}}","on":true,"dim_pct":50,"power_w":40}""";

        var sent = 0;
        async Task SendAsync(string topic, string payload, bool retain = false)
        {
            await publisher.PublishTextAsync(topic, payload, retain);
            sent++;
        }

        for (var d = 0; d < 3; d++)
        {
            await SendAsync(Topic($"lamp-{d}", "status"), DeviceTestKit.Birth("streetlight", t0, "d01", "d01-street-001"), retain: true);
        }

        for (var i = 0; i < 10; i++)
        {
            await SendAsync(Topic($"lamp-{i % 3}", "telemetry"), Reading(i + 1));
        }

        await SendAsync(Topic("lamp-0", "telemetry"), "{not json");
        await SendAsync(Topic("lamp-1", "telemetry"), """{"v":1,"ts":"2026-01-01T00:00:00Z","on":true}""");
        await SendAsync(Topic("lamp-9", "telemetry"), Reading(20)); // never announced: quarantined
        await SendAsync(Topic("lamp-0", "telemetry"), Reading(11).Replace("}", ",\"dim_pct\":99}", StringComparison.Ordinal)); // duplicate key
        // Invalid UTF-8 inside a string: the decoder threw, and the message landed in no outcome.
        var badUtf8 = Encoding.UTF8.GetBytes(Reading(12).Replace("}", ",\"device\":\"@\"}", StringComparison.Ordinal)).Select(b => b == (byte)'@' ? (byte)0xFF : b).ToArray();
        await publisher.PublishAsync(Topic("lamp-0", "telemetry"), badUtf8, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        sent++;
        await SendAsync(Topic("lamp-0", "cmd"), """{"dim_pct":20}""");
        await SendAsync(Topic("lamp-1", "cmd"), "");
        await SendAsync($"{root}/lighting/d01", "{}");
        await SendAsync(Topic("lamp-1", "status"), """{"v":1,"online":false}""", retain: true); // a will
        await SendAsync(Topic("lamp-8", "status"), """{"v":1,"online":false}""", retain: true); // a will of a device never born
        await SendAsync(Topic("lamp-2", "status"), "", retain: true); // a retained clear (device removed)
        await SendAsync(Topic("lamp-7", "status"), "", retain: true); // a clear of a device never born
        await SendAsync(Topic("lamp-1", "status"), DeviceTestKit.Birth("streetlight", t0.AddSeconds(30), "d01", "d01-street-001"), retain: true);
        await SendAsync(Topic("lamp-1", "telemetry"), Reading(40));
        // A real last will, sent by the broker when the connection drops.
        var willTopic = Topic("lamp-5", "status");
        await using (var device = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("lamp5-"), new LastWill(willTopic, Encoding.UTF8.GetBytes("""{"v":1,"online":false}""")), CancellationToken.None))
        {
            await device.PublishAsync(willTopic, Encoding.UTF8.GetBytes(DeviceTestKit.Birth("streetlight", t0, "d01", "d01-street-001")), MqttQualityOfServiceLevel.AtLeastOnce, true, CancellationToken.None);
            sent++;
            await device.DisconnectWithWillAsync(CancellationToken.None);
            sent++;
        }

        var s = await worker.Metrics.WaitUntilAsync(s => s.Received >= sent && s.Acknowledged >= sent, DeviceTestKit.Timeout);
        Assert.Equal(sent, s.Received);
        Assert.Equal(s.Received, s.Accepted + s.Rejected + s.Ignored);
        Assert.Equal(s.Rejected, s.RejectedByReason.Values.Sum());
        Assert.Equal(2, s.DevicesRemoved); // the two retained clears: decommissioned devices, accepted (issue 24 item 3)

        // The operator API says the same.
        using var http = worker.CreateClient();
        var api = await http.GetFromJsonAsync<JsonElement>("/api/pipeline");
        long Get(string name) => api.GetProperty(name).GetInt64();
        Assert.Equal(sent, Get("received"));
        Assert.Equal(Get("received"), Get("accepted") + Get("rejected") + Get("ignored"));
    }
}

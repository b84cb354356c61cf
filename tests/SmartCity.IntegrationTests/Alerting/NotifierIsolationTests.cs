using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MimeKit;
using MQTTnet;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;
using SmartCity.TestSupport;

namespace SmartCity.IntegrationTests.Alerting;

/// <summary>
/// A worker with email configured and a webhook pointing at a port where nothing listens: the
/// forced door is still mailed (once, with the right subject), its retained state still appears
/// on MQTT, and telemetry published afterwards is still stored. One failing channel holds back
/// only itself.
/// </summary>
public sealed class NotifierIsolationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task DoorForced_WebhookDead_MailSentRetainedStateArrivesAndIngestionGoesOn()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var smtp = new SmtpTestServer(failFirst: 1, failCode: 451, username: "worker", password: "mail-Secret-42");
        var district = TestServers.UniqueName("dz");
        var settings = new Dictionary<string, string?>
        {
            // Retried for minutes: the webhook's queue stays busy through the whole test.
            ["Alerting:Webhook:Url"] = $"http://127.0.0.1:{DeadPort()}/hooks/",
            ["Alerting:Webhook:Retries"] = "20",
            ["Alerting:Webhook:Timeout"] = "00:00:01",
            ["Alerting:Smtp:Host"] = smtp.Host,
            ["Alerting:Smtp:Port"] = smtp.Port.ToString(CultureInfo.InvariantCulture),
            ["Alerting:Smtp:Username"] = "worker",
            ["Alerting:Smtp:Password"] = "mail-Secret-42",
            ["Alerting:Smtp:From"] = "SmartCity <alerts@city.test>",
            ["Alerting:Smtp:To:0"] = "security@city.test",
            ["Alerting:Smtp:ApiBaseUrl"] = "https://ops.city.test",
            ["Alerting:Smtp:RetryDelay"] = "00:00:00.050",
            ["Alerting:Notifiers:DrainTimeout"] = "00:00:02",
        };
        await using var worker = await TestWorker.StartAsync(db, overrides: settings);
        var states = new AlertStates();
        await using var watch = await states.SubscribeAsync($"smartcity/alerts/security/{district}/#");

        await using var door = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("door-"), CancellationToken.None);
        var topic = $"{worker.TopicRoot}/security/{district}/town-hall/door_contact/door-0001";
        var now = DateTimeOffset.UtcNow;
        await Publish(door, topic + "/status", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-2))}}","online":true,"profile":"door_contact","district":"{{district}}","site":"town-hall"}""", retain: true);
        await Publish(door, topic + "/event", $$"""{"v":1,"ts":"{{Ts(now.AddSeconds(-1))}}","event":"forced","detail":"contact broken open"}""");

        // The mail (the first attempt was refused with 451 and retried).
        var mails = await smtp.WaitForAsync(m => m.Count >= 1, Timeout);
        var mail = Assert.Single(mails);
        Assert.Equal(["security@city.test"], mail.To);
        var message = MimeMessage.Load(new MemoryStream(mail.Data));
        Assert.Equal($"[SmartCity] CRITICAL door_forced raised at door-0001 ({district}/town-hall)", message.Subject);
        var alertId = message.Headers["X-SmartCity-Alert"];
        Assert.Contains($"https://ops.city.test/api/alerts/{alertId}", message.TextBody);
        Assert.Equal(2, smtp.Transactions);

        // The retained state on MQTT, same alert.
        var state = await states.WaitForAsync(s => s.GetProperty("rule").GetString() == "door_forced", Timeout);
        Assert.Equal(alertId, state.GetProperty("id").GetString());
        Assert.Equal("critical", state.GetProperty("severity").GetString());

        // Ingestion goes on while the webhook is still retrying.
        var stats = await LightingSimulation.RunAsync(new LightingSimulationOptions
        {
            Broker = TestWorker.Broker,
            Lamps = 20,
            Messages = 200,
            Rate = 0,
            Seed = 7,
            TopicRoot = worker.TopicRoot,
            ClientId = TestServers.UniqueName("sim-"),
            Start = DateTimeOffset.UtcNow.AddHours(-1).AddTicks(-(DateTimeOffset.UtcNow.Ticks % TimeSpan.TicksPerSecond)),
            Interval = TimeSpan.FromSeconds(30),
        });
        Assert.Equal(200, stats.Published);
        long stored = 0;
        for (var i = 0; i < 100 && stored < 200; i++)
        {
            // Armed before the query, so a batch landing in between is not missed.
            var progress = worker.Metrics.NextProgressAsync(Timeout);
            stored = await db.CountAsync("SELECT count(power_w) FROM street_light");
            if (stored < 200)
            {
                await progress;
            }
        }

        Assert.Equal(200, stored);

        // Nothing was mailed twice, and the SMTP password is in no log line.
        Assert.Single(smtp.Mails);
        Assert.All(worker.Logs.Entries, e => Assert.DoesNotContain("mail-Secret-42", e.Message, StringComparison.Ordinal));
    }

    /// <summary>A port nothing listens on: bound once by the OS, then released.</summary>
    private static int DeadPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static string Ts(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static Task Publish(MqttPublisher publisher, string topic, string json, bool retain = false) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, retain, CancellationToken.None);
}

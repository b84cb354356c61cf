using MQTTnet;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Devices;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;

namespace SmartCity.IntegrationTests.Security;

/// <summary>
/// The broker's side of device security, on the real mosquitto with the ACL and password files of
/// scripts/servers.sh: devices provisioned with smartcity-provision can speak only as themselves,
/// nobody gets in without an account, TLS works with the development CA, and the worker's own
/// (restricted) account is all it needs.
/// </summary>
public sealed class BrokerSecurityTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static bool Refused(MqttClientConnectResultCode code) =>
        code is MqttClientConnectResultCode.NotAuthorized or MqttClientConnectResultCode.BadUserNameOrPassword;

    private static Task<(int Exit, string Output, string Error)> ProvisionAsync(params string[] args) => BrokerAccounts.ProvisionCommandAsync(args);

    /// <summary>Provisions a street light with the CLI under <paramref name="root"/> and returns its password (read from --password-out).</summary>
    private static async Task<string> AddLampAsync(string deviceId, string root, StreetLight lamp)
    {
        var passwordFile = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("pw-"));
        try
        {
            var (exit, output, error) = await ProvisionAsync("--root", root, "device", "add", deviceId, "--sector", "lighting",
                "--district", lamp.District, "--site", lamp.Site, "--type", "streetlight", "--password-out", passwordFile);
            Assert.True(exit == 0, $"smartcity-provision failed ({exit}): {error}");
            Assert.Contains("broker reloaded", output, StringComparison.Ordinal);
            var password = (await File.ReadAllTextAsync(passwordFile)).Trim();
            Assert.DoesNotContain(password, output, StringComparison.Ordinal);   // --password-out: never on the screen
            return password;
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    private static MqttApplicationMessage Message(string topic, byte[] payload, bool retain = false) =>
        new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload).WithRetainFlag(retain)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build();

    private static string TopicOf(string root, StreetLight lamp, string deviceId, string kind) =>
        StreetLightFleet.TopicFor(root, lamp with { DeviceId = deviceId }, kind);

    [Fact]
    public async Task Publish_DeviceAOnDeviceBsTopic_NotAuthorizedAtQos1AndNeverStored()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var root = worker.TopicRoot;
        // Payloads of a simulated lamp; the device id is only in the topic, so they fit any id.
        var fleet = new StreetLightFleet(1, 1, root, seed: 5, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddHours(-1)), TimeSpan.FromSeconds(10));
        var lamp = fleet.Lamps[0];
        var (a, b) = (TestServers.UniqueName("lamp-a-"), TestServers.UniqueName("lamp-b-"));
        var passwordA = await AddLampAsync(a, root, lamp);
        var passwordB = await AddLampAsync(b, root, lamp);
        await BrokerAccounts.WaitForLoginAsync(b, passwordB, MqttClientConnectResultCode.Success);

        var (clientB, codeB) = await BrokerAccounts.ConnectAsync(b, passwordB);
        using (clientB)
        {
            Assert.Equal(MqttClientConnectResultCode.Success, codeB);
            Assert.True((await clientB.PublishAsync(Message(TopicOf(root, lamp, b, "status"), fleet.Birth(lamp, DateTimeOffset.UtcNow).Payload, retain: true))).IsSuccess);
        }

        var (clientA, codeA) = await BrokerAccounts.ConnectAsync(a, passwordA);
        using (clientA)
        {
            Assert.Equal(MqttClientConnectResultCode.Success, codeA);
            Assert.True((await clientA.PublishAsync(Message(TopicOf(root, lamp, a, "status"), fleet.Birth(lamp, DateTimeOffset.UtcNow).Payload, retain: true))).IsSuccess);

            // A speaks as B: telemetry, a birth (which would move B), an event. Each is refused in the PUBACK.
            for (var k = 0; k < 3; k++)
            {
                var forged = await clientA.PublishAsync(Message(TopicOf(root, lamp, b, "telemetry"), fleet.Create(k).Payload));
                Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, forged.ReasonCode);
            }

            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await clientA.PublishAsync(Message(TopicOf(root, lamp, b, "status"), fleet.Birth(lamp, DateTimeOffset.UtcNow).Payload, retain: true))).ReasonCode);
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await clientA.PublishAsync(Message(TopicOf(root, lamp, b, "event"), """{"v":1,"event":"x"}"""u8.ToArray()))).ReasonCode);
            // Nor outside the device topics.
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, (await clientA.PublishAsync(Message("smartcity/alerts/lighting/d01/fake", "{}"u8.ToArray()))).ReasonCode);

            // Then A's own readings, on the same connection: the broker keeps one client's order, so
            // once these are stored anything forged before them would have arrived too.
            for (var k = 3; k < 6; k++)
            {
                Assert.True((await clientA.PublishAsync(Message(TopicOf(root, lamp, a, "telemetry"), fleet.Create(k).Payload))).IsSuccess);
            }
        }

        var s = await worker.Metrics.WaitUntilAsync(x => x.PointsWritten >= 5, Timeout);
        Assert.Equal(5, s.Received);   // two births, A's three readings: nothing forged reached the worker
        Assert.Equal(0, s.Rejected);
        Assert.Equal(3, await db.CountAsync($"SELECT count(power_w) FROM street_light WHERE device_id = '{a}'"));
        Assert.Equal(0, await db.CountAsync($"SELECT count(power_w) FROM street_light WHERE device_id = '{b}'"));

        Assert.Equal(0, (await ProvisionAsync("device", "revoke", a)).Exit);
        Assert.Equal(0, (await ProvisionAsync("device", "revoke", b)).Exit);
    }

    [Fact]
    public async Task Connect_Anonymous_Refused()
    {
        var (client, code) = await BrokerAccounts.ConnectAsync(user: null, password: null);
        using (client)
        {
            Assert.True(Refused(code), $"anonymous connection answered {code}");
            Assert.False(client.IsConnected);
        }
    }

    [Fact]
    public async Task Connect_WrongPassword_Refused()
    {
        var (client, code) = await BrokerAccounts.ConnectAsync(TestServers.MqttUsername, TestServers.MqttPassword + "x");
        using (client)
        {
            Assert.True(Refused(code), $"wrong password answered {code}");
        }
    }

    [Fact]
    public async Task Connect_RevokedDevice_RefusedAfterReload()
    {
        var fleet = new StreetLightFleet(1, 1, "city", seed: 1, DateTimeOffset.UtcNow, TimeSpan.FromSeconds(10));
        var id = TestServers.UniqueName("lamp-r-");
        var password = await AddLampAsync(id, "city", fleet.Lamps[0]);
        await BrokerAccounts.WaitForLoginAsync(id, password, MqttClientConnectResultCode.Success);
        var (list, listed, _) = await ProvisionAsync("device", "list");
        Assert.Equal(0, list);
        Assert.Contains($"{id}\tpassword:yes", listed, StringComparison.Ordinal);

        var (exit, output, error) = await ProvisionAsync("device", "revoke", id);
        Assert.True(exit == 0, error);
        Assert.Contains($"revoked {id}; broker reloaded", output, StringComparison.Ordinal);
        await BrokerAccounts.WaitForLoginAsync(id, password, MqttClientConnectResultCode.NotAuthorized);
        Assert.DoesNotContain(id, (await ProvisionAsync("device", "list")).Output, StringComparison.Ordinal);
        Assert.Equal(1, (await ProvisionAsync("device", "revoke", id)).Exit);   // nothing left to revoke
    }

    [Fact]
    public async Task Publish_WorkerAccount_OnlyAlertStates()
    {
        var (client, code) = await BrokerAccounts.ConnectAsync(TestServers.MqttWorkerUsername, TestServers.MqttWorkerPassword);
        using (client)
        {
            Assert.Equal(MqttClientConnectResultCode.Success, code);
            var device = await client.PublishAsync(Message("city/lighting/d01/s1/streetlight/lamp-000001/telemetry", "{}"u8.ToArray()));
            Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, device.ReasonCode);
            var alert = await client.PublishAsync(Message($"smartcity/alerts/lighting/d01/{TestServers.UniqueName("a-")}", "{}"u8.ToArray()));
            Assert.True(alert.IsSuccess, $"alert state refused: {alert.ReasonCode}");
        }
    }

    [Fact]
    public async Task Worker_TlsWithTheDevelopmentCa_StoresWhatArrivesOverTls()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Mqtt:Port"] = TestServers.MqttTlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Mqtt:Tls:Enabled"] = "true",
            ["Mqtt:Tls:CaFile"] = TestServers.MqttCaFile,
        });
        var fleet = new StreetLightFleet(2, 1, worker.TopicRoot, seed: 9, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddHours(-1)), TimeSpan.FromSeconds(10));

        var (client, code) = await BrokerAccounts.ConnectAsync(TestServers.MqttUsername, TestServers.MqttPassword, tls: true);
        using (client)
        {
            Assert.Equal(MqttClientConnectResultCode.Success, code);
            foreach (var lamp in fleet.Lamps)
            {
                var birth = fleet.Birth(lamp, DateTimeOffset.UtcNow);
                Assert.True((await client.PublishAsync(Message(birth.Topic, birth.Payload, retain: true))).IsSuccess);
            }

            for (var k = 0; k < 10; k++)
            {
                var m = fleet.Create(k);
                Assert.True((await client.PublishAsync(Message(m.Topic, m.Payload))).IsSuccess);
            }
        }

        await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= 12, Timeout);
        Assert.Equal(10, await db.CountAsync("SELECT count(power_w) FROM street_light"));
    }

    [Fact]
    public async Task Connect_TlsTrustingAnotherCa_Fails()
    {
        var otherCa = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("ca-"));
        try
        {
            using (var process = System.Diagnostics.Process.Start(Path.Combine(Path.GetDirectoryName(TestServers.ServersScript)!, "dev-ca.sh"), otherCa))
            {
                await process.WaitForExitAsync();
                Assert.Equal(0, process.ExitCode);
            }

            // The broker's certificate does not chain to this CA: our validation refuses the handshake.
            MqttClientConnectResultCode? answered = null;
            var failure = await Record.ExceptionAsync(async () =>
            {
                var (client, code) = await BrokerAccounts.ConnectAsync(TestServers.MqttUsername, TestServers.MqttPassword, tls: true, caFile: Path.Combine(otherCa, "ca.crt"));
                client.Dispose();
                answered = code;
            });
            Assert.Null(answered);
            Assert.NotNull(failure);
            var chain = new List<Exception>();
            for (var e = failure; e is not null; e = e.InnerException)
            {
                chain.Add(e);
            }

            Assert.True(chain.Any(e => e is System.Security.Authentication.AuthenticationException), string.Join(" <- ", chain.Select(e => $"{e.GetType().Name}: {e.Message}")));
        }
        finally
        {
            Directory.Delete(otherCa, recursive: true);
        }
    }
}

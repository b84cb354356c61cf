using System.Text;
using MQTTnet;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Provisioning;

namespace SmartCity.IntegrationTests.Security;

/// <summary>
/// Issue 21, a city's broker accounts made by <c>smartcity-provision city add</c> (in process, its real
/// command line) in the test broker's own password and ACL files, which the real mosquitto reloads: city
/// A's read-only account reads A's alert topics and nothing of B's, whatever it subscribes to; A's workers'
/// account cannot write B's; <c>city revoke</c> takes the accounts away.
/// </summary>
public sealed class CityAccountsCommandTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private readonly string _passwords = Directory.CreateTempSubdirectory("smartcity-city-pw-").FullName;

    public void Dispose() => Directory.Delete(_passwords, recursive: true);

    private static Task<(int Exit, string Output, string Error)> ProvisionAsync(params string[] args) => BrokerAccounts.ProvisionCommandAsync(args);

    private async Task<(string Worker, string Reader)> AddCityAsync(string city, string root)
    {
        var (exit, output, error) = await ProvisionAsync("--root", root, "city", "add", city, "--passwords-out", _passwords);
        Assert.True(exit == 0, $"smartcity-provision city add failed ({exit}): {error}");
        Assert.Contains($"accounts smartcity-worker-{city}, smartcity-city-{city}; broker reloaded", output, StringComparison.Ordinal);
        var (worker, reader) = ($"smartcity-worker-{city}", $"smartcity-city-{city}");
        Assert.DoesNotContain(await PasswordAsync(worker), output, StringComparison.Ordinal);   // --passwords-out: never on the screen
        await BrokerAccounts.WaitForLoginAsync(worker, await PasswordAsync(worker), MqttClientConnectResultCode.Success, Timeout);
        await BrokerAccounts.WaitForLoginAsync(reader, await PasswordAsync(reader), MqttClientConnectResultCode.Success, Timeout);
        return (worker, reader);
    }

    private async Task<string> PasswordAsync(string user) => (await File.ReadAllTextAsync(Path.Combine(_passwords, user))).Trim();

    [Fact]
    public async Task CityAdd_TwoCities_ReaderOfAReadsAsAlertTopicsAndNoneOfBs()
    {
        var (a, b) = (TestServers.UniqueName("ca-"), TestServers.UniqueName("cb-"));
        var (rootA, rootB) = (TestServers.UniqueName("t") + "/city", TestServers.UniqueName("t") + "/city");
        var (workerA, readerA) = await AddCityAsync(a, rootA);
        var (workerB, readerB) = await AddCityAsync(b, rootB);

        // Each city's worker account publishes a retained alert state in its own tree (acknowledged: on the broker).
        using var publisherA = await ConnectAsync(workerA);
        using var publisherB = await ConnectAsync(workerB);
        await PublishAsync(publisherA, $"smartcity/alerts/{a}/lighting/d01/alert-a", MqttClientPublishReasonCode.Success);
        await PublishAsync(publisherB, $"smartcity/alerts/{b}/lighting/d01/alert-b", MqttClientPublishReasonCode.Success);
        // A's workers may not write into B's alerts.
        await PublishAsync(publisherA, $"smartcity/alerts/{b}/lighting/d01/forged", MqttClientPublishReasonCode.NotAuthorized);

        // A's reader asks for everyone's alerts, B's alerts and B's devices: it gets A's only.
        var statesA = new AlertStates();
        await using (await statesA.SubscribeAsAsync(readerA, await PasswordAsync(readerA), "smartcity/alerts/#", $"smartcity/alerts/{b}/#", rootB + "/#"))
        {
            await statesA.WaitForAsync(s => s.GetProperty("id").GetString() == "alert-a", Timeout);
            // A marker after B's states were on the broker: mosquitto routes one message at a time, so
            // once it arrived anything of B's would have too.
            await PublishAsync(publisherA, $"smartcity/alerts/{a}/test/marker/m1", MqttClientPublishReasonCode.Success, retain: false);
            await statesA.WaitForAsync(s => s.GetProperty("id").GetString() == "m1", Timeout);
            Assert.All(statesA.Topics, t => Assert.StartsWith($"smartcity/alerts/{a}/", t, StringComparison.Ordinal));
        }

        // B's reader gets B's state (so it was there to be leaked), none of A's.
        var statesB = new AlertStates();
        await using (await statesB.SubscribeAsAsync(readerB, await PasswordAsync(readerB), "smartcity/alerts/#"))
        {
            await statesB.WaitForAsync(s => s.GetProperty("id").GetString() == "alert-b", Timeout);
            Assert.All(statesB.Topics, t => Assert.StartsWith($"smartcity/alerts/{b}/", t, StringComparison.Ordinal));
        }

        var (listExit, list, _) = await ProvisionAsync("city", "list");
        Assert.Equal(0, listExit);
        Assert.Contains($"{a}\tsmartcity-worker-{a}(password:yes) smartcity-city-{a}(password:yes)", list, StringComparison.Ordinal);
        var (_, devices, _) = await ProvisionAsync("device", "list");
        Assert.DoesNotContain(a, devices, StringComparison.Ordinal);

        // Revoked: B's accounts can no longer log in, its section is gone, A's stays.
        var (revokeExit, revoked, revokeError) = await ProvisionAsync("city", "revoke", b);
        Assert.True(revokeExit == 0, revokeError);
        Assert.Contains($"revoked city {b}: smartcity-worker-{b}, smartcity-city-{b}; broker reloaded", revoked, StringComparison.Ordinal);
        await BrokerAccounts.WaitForLoginAsync(readerB, await PasswordAsync(readerB), MqttClientConnectResultCode.NotAuthorized, Timeout);
        var acl = await File.ReadAllTextAsync(TestServers.MqttAclFile);
        Assert.DoesNotContain(b, acl, StringComparison.Ordinal);
        Assert.Contains($"user smartcity-city-{a}", acl, StringComparison.Ordinal);
        await ProvisionAsync("city", "revoke", a);
    }

    [Fact]
    public async Task CityAdd_CityAlreadyThereOrNoRoot_RefusedFilesUnchanged()
    {
        var dir = Directory.CreateTempSubdirectory("smartcity-city-files-").FullName;
        try
        {
            var (passwd, acl) = (Path.Combine(dir, "passwd"), Path.Combine(dir, "acl"));
            await File.WriteAllTextAsync(acl, "user smartcity-worker\ntopic read city/#\n");
            await File.WriteAllTextAsync(passwd, "");
            using var output = new StringWriter();
            using var error = new StringWriter();
            Assert.Equal(0, await ProvisionCommand.RunAsync(["--password-file", passwd, "--acl-file", acl, "--root", "region/lyon", "city", "add", "lyon"], output, error));
            var (aclBefore, passwdBefore) = (await File.ReadAllTextAsync(acl), await File.ReadAllTextAsync(passwd));
            Assert.StartsWith("user smartcity-worker\ntopic read city/#\n\n# smartcity-provision begin city:lyon\n", aclBefore, StringComparison.Ordinal);
            Assert.Contains("topic read region/lyon/#", aclBefore, StringComparison.Ordinal);
            Assert.DoesNotContain("@", aclBefore, StringComparison.Ordinal);
            Assert.Equal(2, MosquittoPasswordFile.Users(passwdBefore).Count);

            Assert.Equal(1, await ProvisionCommand.RunAsync(["--password-file", passwd, "--acl-file", acl, "--root", "region/lyon", "city", "add", "lyon"], output, error));
            Assert.Contains("revoke", error.ToString(), StringComparison.Ordinal);
            Assert.Equal(ProvisionCommand.UsageExitCode, await ProvisionCommand.RunAsync(["--password-file", passwd, "--acl-file", acl, "city", "add", "paris"], output, error));
            Assert.Contains("--root", error.ToString(), StringComparison.Ordinal);
            Assert.Equal(aclBefore, await File.ReadAllTextAsync(acl));
            Assert.Equal(passwdBefore, await File.ReadAllTextAsync(passwd));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private async Task<IMqttClient> ConnectAsync(string user)
    {
        var (client, code) = await BrokerAccounts.ConnectAsync(user, await PasswordAsync(user));
        Assert.Equal(MqttClientConnectResultCode.Success, code);
        return client;
    }

    private static async Task PublishAsync(IMqttClient client, string topic, MqttClientPublishReasonCode expected, bool retain = true)
    {
        var id = topic[(topic.LastIndexOf('/') + 1)..];
        var message = new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(Encoding.UTF8.GetBytes($$"""{"id":"{{id}}"}"""))
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).WithRetainFlag(retain).Build();
        var result = await client.PublishAsync(message);
        // Accepted with nobody subscribed yet is a success too (MQTT 5 reason 0x10).
        var code = result.ReasonCode == MqttClientPublishReasonCode.NoMatchingSubscribers ? MqttClientPublishReasonCode.Success : result.ReasonCode;
        Assert.Equal(expected, code);
    }
}

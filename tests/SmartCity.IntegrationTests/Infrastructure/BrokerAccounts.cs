using System.Diagnostics;
using MQTTnet;
using MQTTnet.Adapter;
using MQTTnet.Formatter;
using SmartCity.Provisioning;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// Accounts on the test broker, which has no anonymous access: provisioning devices into its
/// password and ACL files (with smartcity-provision's own code), reloading it, and raw MQTT 5
/// connections whose refusal a test can look at.
/// </summary>
public static class BrokerAccounts
{
    public static DeviceStore Store => new(TestServers.MqttPasswordFile, TestServers.MqttAclFile);

    public static ReloadOptions Reload => new(PidFile: Path.Combine(TestServers.RunDir, "pids", "mosquitto.pid"));

    /// <summary>
    /// Gives each device <paramref name="password"/> (a device that was there before, from an
    /// earlier test on the same broker, is revoked first), reloads the broker and waits until the
    /// first device can log in: mosquitto applies a SIGHUP in its next loop, not at once.
    /// </summary>
    public static async Task ProvisionAsync(IReadOnlyCollection<(string DeviceId, DevicePlacement Placement)> devices, string password)
    {
        var store = Store;
        foreach (var (id, placement) in devices)
        {
            await store.RevokeAsync(id, CancellationToken.None);
            await store.AddAsync(id, placement, password, CancellationToken.None);
        }

        await DeviceStore.ReloadAsync(Reload, CancellationToken.None);
        var first = devices.First().DeviceId;
        await WaitForLoginAsync(first, password, expected: MqttClientConnectResultCode.Success);
    }

    /// <summary>
    /// The accounts of a city sharing the broker with others, as <c>smartcity-provision city add</c> makes
    /// them (deploy/mosquitto/acl-city.template rendered for <paramref name="city"/> and <paramref name="root"/>):
    /// its workers' account and its read-only account, each with a fresh password, under the tool's lock
    /// (the ACL file is shared with the tests that provision devices); then the broker is reloaded and
    /// both logins are waited for.
    /// </summary>
    public static async Task<(string WorkerUser, string WorkerPassword, string ReaderUser, string ReaderPassword)> AddCityAsync(string city, string root)
    {
        var accounts = await Store.AddCityAsync(city, root, DeviceStore.ShippedCityTemplate(), CancellationToken.None);
        var (worker, reader) = ($"smartcity-worker-{city}", $"smartcity-city-{city}");
        Assert.Equal([worker, reader], accounts.Select(a => a.User));
        await DeviceStore.ReloadAsync(Reload, CancellationToken.None);
        await WaitForLoginAsync(worker, accounts[0].Password, MqttClientConnectResultCode.Success);
        await WaitForLoginAsync(reader, accounts[1].Password, MqttClientConnectResultCode.Success);
        return (worker, accounts[0].Password, reader, accounts[1].Password);
    }

    /// <summary>Runs the smartcity-provision command line (in process) against the test broker's files, reloading it.</summary>
    public static async Task<(int Exit, string Output, string Error)> ProvisionCommandAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        string[] files = ["--password-file", TestServers.MqttPasswordFile, "--acl-file", TestServers.MqttAclFile, "--reload-pid-file", Reload.PidFile!];
        var exit = await ProvisionCommand.RunAsync([.. files, .. args], output, error);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary>Polls logins of <paramref name="user"/> until the broker answers <paramref name="expected"/> (after a reload).</summary>
    public static async Task WaitForLoginAsync(string user, string password, MqttClientConnectResultCode expected, TimeSpan? timeout = null)
    {
        var clock = Stopwatch.StartNew();
        // 60 s: a reload is applied in mosquitto's next loop, which a loaded machine delays.
        var limit = timeout ?? TimeSpan.FromSeconds(60);
        MqttClientConnectResultCode last;
        do
        {
            var (client, code) = await ConnectAsync(user, password);
            client.Dispose();
            last = code;
            if (code == expected)
            {
                return;
            }

            // Polling a broker we just reloaded: there is no event to wait on.
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }
        while (clock.Elapsed < limit);

        throw new TimeoutException($"login of '{user}' still answered {last} after {limit.TotalSeconds:0} s, expected {expected}");
    }

    /// <summary>An MQTT 5 connection (plain listener, or TLS trusting <paramref name="caFile"/>); the result code instead of an exception on refusal.</summary>
    public static async Task<(IMqttClient Client, MqttClientConnectResultCode Code)> ConnectAsync(string? user, string? password, bool tls = false, string? caFile = null, string? clientId = null)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer(TestServers.MqttHost, tls ? TestServers.MqttTlsPort : TestServers.MqttPort)
            .WithClientId(clientId ?? TestServers.UniqueName("sec-"))
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithTimeout(TimeSpan.FromSeconds(60)); // a request timeout: a loaded machine answers a CONNECT late
        if (user is not null)
        {
            options.WithCredentials(user, password);
        }

        if (tls)
        {
            var trusted = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection();
            trusted.ImportFromPemFile(caFile ?? TestServers.MqttCaFile);
            options.WithTlsOptions(o => o.UseTls().WithTargetHost("localhost").WithCertificateValidationHandler(e =>
                SmartCity.Telemetry.Source.MqttConnectionOptions.ChainsToPrivateCa(e.Certificate, e.Chain, e.SslPolicyErrors, trusted)));
        }

        try
        {
            var result = await client.ConnectAsync(options.Build());
            return (client, result.ResultCode);
        }
        catch (MqttConnectingFailedException e)
        {
            // MQTTnet 5 normally returns a refusal in the result; should it throw instead, the code is in the message.
            var code = Enum.GetValues<MqttClientConnectResultCode>().Where(c => c != MqttClientConnectResultCode.Success)
                .FirstOrDefault(c => e.Message.Contains(c.ToString(), StringComparison.Ordinal), MqttClientConnectResultCode.UnspecifiedError);
            return (client, code);
        }
    }
}

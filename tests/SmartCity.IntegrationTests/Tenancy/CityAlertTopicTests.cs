using System.Text;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.IntegrationTests.Partitioning;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Tenancy;

/// <summary>
/// Issue 21, tenancy on a shared broker: two cities' workers on the real mosquitto, each logged in
/// with its city's account from deploy/mosquitto/acl-city.template, publish their retained alert
/// states under <c>smartcity/alerts/{city}/...</c>; a subscriber with one city's read-only account
/// gets that city's alerts and nothing of the other's, whatever filters it asks for.
/// </summary>
public sealed class CityAlertTopicTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task AlertStates_TwoCitiesOnOneBroker_EachCityAccountReceivesItsOwnAndNoneOfTheOther()
    {
        await using var cities = await TwoCities.CreateAsync([], []);
        var (a, b) = (cities.A, cities.B);
        var accounts = new Dictionary<string, (string Reader, string Password)>();
        foreach (var city in new[] { a, b })
        {
            var made = await BrokerAccounts.AddCityAsync(city.Id, city.Root);
            var passwordFile = Path.Combine(cities.DataDirectory, "mqtt-password-" + city.Id);
            await File.WriteAllTextAsync(passwordFile, made.WorkerPassword + "\n");
            // The map's city settings name the city's own account, as deploy/kubernetes-partitioned does.
            city.Settings["Mqtt:Username"] = made.WorkerUser;
            city.Settings["Mqtt:PasswordFile"] = passwordFile;
            accounts[city.Id] = (made.ReaderUser, made.ReaderPassword);
        }

        await using var workerA = await cities.StartWorkerAsync(a);
        await using var workerB = await cities.StartWorkerAsync(b);

        // City A's reader asks for its own alerts, for everyone's, for B's and for B's devices.
        var readerA = new AlertStates();
        await using var subscriptionA = await readerA.SubscribeAsAsync(accounts[a.Id].Reader, accounts[a.Id].Password,
            $"smartcity/alerts/{a.Id}/#", "smartcity/alerts/#", $"smartcity/alerts/{b.Id}/#", b.Root + "/#");
        var readerB = new AlertStates();
        await using var subscriptionB = await readerB.SubscribeAsAsync(accounts[b.Id].Reader, accounts[b.Id].Password, $"smartcity/alerts/{b.Id}/#");

        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("faults-"), CancellationToken.None);
        var lampsA = await Region.PublishFaultsAsync(publisher, a.Root, 0, [0, 1]);
        var lampsB = await Region.PublishFaultsAsync(publisher, b.Root, 0, [2, 3]);
        foreach (var lamp in lampsA)
        {
            await readerA.WaitForAsync(s => IsFailure(s, lamp.DeviceId), Timeout);
        }

        // B's alerts are on the broker (B's reader has them) before A's reader is asked what it got.
        foreach (var lamp in lampsB)
        {
            await readerB.WaitForAsync(s => IsFailure(s, lamp.DeviceId), Timeout);
        }

        await AssertOnlyCityAsync(readerA, publisher, a.Id, b, lampsB.Select(l => l.DeviceId));
        Assert.All(readerB.Topics, t => Assert.StartsWith($"smartcity/alerts/{b.Id}/lighting/", t, StringComparison.Ordinal));

        // The retained states too: a reader of A connecting now gets A's, none of B's.
        var late = new AlertStates();
        await using (await late.SubscribeAsAsync(accounts[a.Id].Reader, accounts[a.Id].Password, "smartcity/alerts/#"))
        {
            foreach (var lamp in lampsA)
            {
                await late.WaitForAsync(s => IsFailure(s, lamp.DeviceId), Timeout);
            }

            await AssertOnlyCityAsync(late, publisher, a.Id, b, lampsB.Select(l => l.DeviceId));
        }
    }

    /// <summary>
    /// A marker published on A's alert tree after B's alerts reached the broker: mosquitto routes
    /// messages one at a time, so once the marker arrived anything of B's would have too.
    /// </summary>
    private static async Task AssertOnlyCityAsync(AlertStates reader, MqttPublisher publisher, string city, TestCity other, IEnumerable<string> otherDevices)
    {
        var marker = TestServers.UniqueName("marker-");
        await publisher.PublishAsync($"smartcity/alerts/{city}/test/marker/{marker}", Encoding.UTF8.GetBytes($$"""{"marker":"{{marker}}"}"""), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        await reader.WaitForAsync(s => s.TryGetProperty("marker", out var m) && m.GetString() == marker, Timeout);
        Assert.All(reader.Topics, t => Assert.StartsWith($"smartcity/alerts/{city}/", t, StringComparison.Ordinal));
        Assert.DoesNotContain(reader.Topics, t => t.Contains(other.Id, StringComparison.Ordinal) || t.StartsWith(other.Root, StringComparison.Ordinal));
        foreach (var device in otherDevices)
        {
            Assert.DoesNotContain(reader.Seen, s => s.TryGetProperty("deviceId", out var d) && d.GetString() == device);
        }
    }

    private static bool IsFailure(System.Text.Json.JsonElement state, string deviceId) =>
        state.TryGetProperty("deviceId", out var d) && d.GetString() == deviceId && state.GetProperty("rule").GetString() == "lamp_failure";
}

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Devices.Registry;
using static SmartCity.IntegrationTests.Talq.TalqCmsApiTests;
using static SmartCity.IntegrationTests.Talq.TalqPayloadSamples;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// Issue 27: which gateway owns which device, and the devices' last values, survive a worker restart
/// (Talq:StateFile beside the registry), so a gateway does not have to re-announce its devices.
/// </summary>
public sealed class TalqCmsStateTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task LogReport_AfterWorkerRestart_IsStoredForTheOwnerAndRefusedForAnotherGateway()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dt");
        var a = new TalqGatewayStandIn(TestServers.UniqueName("gwa-"), district, "quay");
        var b = new TalqGatewayStandIn(TestServers.UniqueName("gwb-"), district, "dock");
        var settings = new Dictionary<string, string?> { ["Talq:MappingFile"] = TalqGatewayStandIn.WriteMappingFile(a, b) };
        var topicRoot = TestServers.UniqueName("t") + "/city";
        var clientId = TestServers.UniqueName("worker-");
        var lamp = Guid.NewGuid();
        var before = DateTimeOffset.UtcNow.AddSeconds(-20);

        await using (var first = await TestWorker.StartAsync(db, topicRoot, clientId, settings))
        {
            using var client = a.Client(first.BaseAddress);
            Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, HttpMethod.Post, a.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "Quay 1") }))).Status);
            // Only the level before the restart: no point yet (power has never been logged).
            var level = Report(Attribute(lamp, "actuator", before, "actualLightState", Level(60)));
            Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, HttpMethod.Post, a.Query("/log-reports"), "/log-reports", "LogReport", Body(level))).Status);
        }

        // As if the worker had crashed inside Registry:SaveInterval: the registry forgot the lamp, the CMS file did not.
        File.Delete(Path.Combine(TestWorker.DataDirectory(clientId), "registry.json"));

        await using var second = await TestWorker.StartAsync(db, topicRoot, clientId, settings);
        using var clientA = a.Client(second.BaseAddress);
        using var clientB = b.Client(second.BaseAddress);
        var ts = DateTimeOffset.UtcNow.AddSeconds(-5);
        var foreign = await SendAsync(clientB, HttpMethod.Post, b.Query("/log-reports"), "/log-reports", "LogReport", Body(Report(Attribute(lamp, "monitor", ts, "activePower", Float(10)))));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, true), (foreign.Status, foreign.Body.Contains("relatedResourceNotFound", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientB, HttpMethod.Put, b.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "mine now?") }))).Status);

        var power = await SendAsync(clientA, HttpMethod.Post, a.Query("/log-reports"), "/log-reports", "LogReport", Body(Report(Attribute(lamp, "monitor", ts, "activePower", Float(31.5)))));
        Assert.Equal(HttpStatusCode.Created, power.Status);
        var rows = await StoredQuery.WaitForAsync(second.Metrics, () => db.RowsAsync($"SELECT * FROM street_light WHERE device_id = '{lamp}' GROUP BY *"), r => r.Count > 0, Timeout);
        var (tags, row) = Assert.Single(rows);
        // The level logged before the restart completes the first point after it.
        Assert.Equal((district, "quay", 60.0, 31.5), (tags["district"], tags["site"], row["dim_pct"].GetDouble(), row["power_w"].GetDouble()));
        var record = second.Services.GetRequiredService<DeviceRegistry>().Find(lamp.ToString());
        Assert.Equal((district, "quay", "streetlight"), (record?.District, record?.Site, record?.Profile));
        Assert.True(File.Exists(Path.Combine(TestWorker.DataDirectory(clientId), "talq-cms.json")));
    }
}

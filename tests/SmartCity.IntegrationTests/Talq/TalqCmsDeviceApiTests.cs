using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Devices.Registry;
using static SmartCity.IntegrationTests.Talq.TalqCmsApiTests;
using static SmartCity.IntegrationTests.Talq.TalqPayloadSamples;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// Issue 27, the CMS API's device operations beyond announcing (GET with last values, PATCH, PUT and DELETE of
/// one device), POST /services, photocell values, and a declared answer to every other operation of the CMS
/// OpenAPI file. Every answer is checked against that file (<see cref="TalqCmsApiTests.SendAsync"/>).
/// </summary>
public sealed class TalqCmsDeviceApiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static async Task<(TestWorker Worker, TalqGatewayStandIn A, TalqGatewayStandIn B)> StartAsync(InfluxTestDatabase db)
    {
        var district = TestServers.UniqueName("dt");
        var a = new TalqGatewayStandIn(TestServers.UniqueName("gwa-"), district, "north");
        var b = new TalqGatewayStandIn(TestServers.UniqueName("gwb-"), district, "south");
        var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?> { ["Talq:MappingFile"] = TalqGatewayStandIn.WriteMappingFile(a, b) });
        return (worker, a, b);
    }

    [Fact]
    public async Task GetPatchDelete_ServeTheOwnersDevicesWithLastValues_AndNothingToOtherGateways()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var (worker, a, b) = await StartAsync(db);
        await using var _ = worker;
        using var clientA = a.Client(worker.BaseAddress);
        using var clientB = b.Client(worker.BaseAddress);
        var lamp = Guid.NewGuid();
        var other = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(clientA, HttpMethod.Post, a.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "North 1"), Lamp(other, "North 2") }))).Status);
        var ts = DateTimeOffset.UtcNow.AddSeconds(-5);
        var report = Report(Attribute(lamp, "monitor", ts, "activePower", Float(48.5)), Attribute(lamp, "monitor", ts, "temperature", Float(41.5)));
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(clientA, HttpMethod.Post, a.Query("/log-reports"), "/log-reports", "LogReport", Body(report))).Status);

        var all = await SendAsync(clientA, HttpMethod.Get, a.Query("/devices"), "/devices", null, "");
        Assert.Equal(HttpStatusCode.OK, all.Status);
        Assert.Equal(new[] { lamp, other }.Order(), JsonSerializer.Deserialize<JsonElement[]>(all.Body)!.Select(d => d.GetProperty("address").GetGuid()).Order());
        using (var page = await clientA.GetAsync(a.Query("/devices") + "&offset=1&limit=5"))
        {
            Assert.Equal(("1", "2"), (page.Headers.GetValues("pagination-count").Single(), page.Headers.GetValues("pagination-totalCount").Single()));
        }

        var power = await SendAsync(clientA, HttpMethod.Get, a.Query($"/devices/{lamp}/monitor/activePower"), "/devices/{deviceAddress}/{functionId}/{attributeName}", null, "");
        Assert.Equal(48.5, JsonDocument.Parse(power.Body).RootElement.GetProperty("value").GetDouble());
        var monitor = await SendAsync(clientA, HttpMethod.Get, a.Query($"/devices/{lamp}/monitor"), "/devices/{deviceAddress}/{functionId}", null, "");
        Assert.Equal(41.5, JsonDocument.Parse(monitor.Body).RootElement.GetProperty("temperature").GetProperty("value").GetDouble());
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientA, HttpMethod.Get, a.Query($"/devices/{lamp}/monitor/supplyCurrent"), "/devices/{deviceAddress}/{functionId}/{attributeName}", null, "")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientA, HttpMethod.Get, a.Query($"/devices/{lamp}/nosuch"), "/devices/{deviceAddress}/{functionId}", null, "")).Status);

        // Gateway B sees none of A's devices and cannot change or delete them.
        Assert.Equal("[]", (await SendAsync(clientB, HttpMethod.Get, b.Query("/devices"), "/devices", null, "")).Body);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientB, HttpMethod.Get, b.Query($"/devices/{lamp}"), "/devices/{deviceAddress}", null, "")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientB, HttpMethod.Patch, b.Query($"/devices/{lamp}"), "/devices/{deviceAddress}", "Device", Body(Lamp(lamp, "taken")))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientB, HttpMethod.Delete, b.Query($"/devices/{lamp}"), "/devices/{deviceAddress}", null, "")).Status);

        // PATCH renames and adds a function; the logged attribute stays.
        var patch = new { address = lamp.ToString(), name = "North 1 (new mast)", @class = "streetLightController", functions = new object[] { new { id = "photocell", type = "PhotocellFunction" } } };
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(clientA, HttpMethod.Patch, a.Query($"/devices/{lamp}"), "/devices/{deviceAddress}", "Device", Body(patch))).Status);
        var patched = JsonDocument.Parse((await SendAsync(clientA, HttpMethod.Get, a.Query($"/devices/{lamp}"), "/devices/{deviceAddress}", null, "")).Body).RootElement;
        Assert.Equal("North 1 (new mast)", patched.GetProperty("name").GetString());
        Assert.Equal(["basic", "actuator", "monitor", "meter", "photocell"], patched.GetProperty("functions").EnumerateArray().Select(f => f.GetProperty("id").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(clientA, HttpMethod.Put, a.Query($"/devices/{other}"), "/devices/{deviceAddress}", "Device", Body(Lamp(lamp, "wrong address")))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(clientA, HttpMethod.Put, a.Query($"/devices/{other}"), "/devices/{deviceAddress}", "Device", Body(Lamp(other, "North 2b")))).Status);

        // DELETE: gone from the CMS and from the registry; its next report is refused.
        var registry = worker.Services.GetRequiredService<DeviceRegistry>();
        Assert.NotNull(registry.Find(lamp.ToString()));
        var deleted = await SendAsync(clientA, HttpMethod.Delete, a.Query($"/devices/{lamp}"), "/devices/{deviceAddress}", null, "");
        Assert.Equal((HttpStatusCode.OK, lamp), (deleted.Status, JsonDocument.Parse(deleted.Body).RootElement.GetProperty("address").GetGuid()));
        Assert.Null(registry.Find(lamp.ToString())); // the removal went through the ingest stage before the answer
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientA, HttpMethod.Get, a.Query($"/devices/{lamp}"), "/devices/{deviceAddress}", null, "")).Status);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await SendAsync(clientA, HttpMethod.Post, a.Query("/log-reports"), "/log-reports", "LogReport", Body(report))).Status);
    }

    [Fact]
    public async Task PhotocellValues_OfAPhotocellAndOfALampsPhotocell_AreStored()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var (worker, a, _) = await StartAsync(db);
        await using var __ = worker;
        using var client = a.Client(worker.BaseAddress);
        var photocell = Guid.NewGuid();
        var lamp = Guid.NewGuid();
        var lampWithCell = new { address = lamp.ToString(), name = "North 3", @class = "streetLightController", functions = new object[]
        {
            new { id = "actuator", type = "LampActuatorFunction" }, new { id = "monitor", type = "LampMonitorFunction" }, new { id = "photocell", type = "PhotocellFunction" },
        } };
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, HttpMethod.Post, a.Query("/devices"), "/devices", "Device[]", Body(new[] { Photocell(photocell), lampWithCell }))).Status);
        Assert.Equal("photocell", worker.Services.GetRequiredService<DeviceRegistry>().Find(photocell.ToString())?.Profile);

        var ts = DateTimeOffset.UtcNow.AddSeconds(-5);
        var on = new { type = "AttributeBinary", value = "ON" };
        var report = Report(
            PhotocellAttribute(photocell, ts, on),
            PhotocellAttribute(lamp, ts, on),
            Attribute(lamp, "actuator", ts, "actualLightState", Level(100)),
            Attribute(lamp, "monitor", ts, "activePower", Float(60)));
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, HttpMethod.Post, a.Query("/log-reports"), "/log-reports", "LogReport", Body(report))).Status);

        var cell = await StoredQuery.WaitForAsync(worker.Metrics, () => db.RowsAsync($"SELECT * FROM photocell WHERE device_id = '{photocell}' GROUP BY *"), r => r.Count > 0, Timeout);
        var (tags, row) = Assert.Single(cell);
        Assert.Equal((a.District, "north", "lighting", true), (tags["district"], tags["site"], tags["sector"], row["photocell_on"].GetBoolean()));
        var lit = await StoredQuery.WaitForAsync(worker.Metrics, () => db.RowsAsync($"SELECT * FROM street_light WHERE device_id = '{lamp}' GROUP BY *"), r => r.Count > 0, Timeout);
        Assert.True(Assert.Single(lit).Row["photocell_on"].GetBoolean());

        // A value of the wrong type for the attribute is the spec's payloadError, and stores nothing.
        var bad = Report(PhotocellAttribute(photocell, ts.AddSeconds(1), new { type = "AttributeBinary", value = "MAYBE" }));
        Assert.Equal(HttpStatusCode.BadRequest, (await SendAsync(client, HttpMethod.Post, a.Query("/log-reports"), "/log-reports", null, Body(bad))).Status);
    }

    [Fact]
    public async Task Services_AreAccepted_AndABadListIsThePayloadError()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var (worker, a, _) = await StartAsync(db);
        await using var __ = worker;
        using var client = a.Client(worker.BaseAddress);
        var services = Body(new object[] { new { name = "ConfigurationService" }, new { name = "DataCollectService" }, new { name = "ControlService" } });
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, HttpMethod.Post, a.Query("/services"), "/services", "Service[]", services)).Status);
        var kept = worker.Services.GetRequiredService<SmartCity.Worker.Talq.TalqDeviceStore>().ServicesOf(a.Address);
        Assert.Equal(["ConfigurationService", "DataCollectService", "ControlService"], kept!.Select(s => s!["name"]!.GetValue<string>()));
        var bad = await SendAsync(client, HttpMethod.Post, a.Query("/services"), "/services", null, """{ "name": "ControlService" }""");
        Assert.Equal((HttpStatusCode.BadRequest, true), (bad.Status, bad.Body.Contains("payloadError", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task DeviceClasses_AreKeptPerGateway_AndAClassInUseIsNotDeleted()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var (worker, a, b) = await StartAsync(db);
        await using var __ = worker;
        using var clientA = a.Client(worker.BaseAddress);
        using var clientB = b.Client(worker.BaseAddress);
        object Class(string name, string type) => new { name, functions = new[] { new { functionId = "f1", type } } };
        var classes = Body(new[] { Class("streetLightController", "LampActuatorFunction"), Class("photocellController", "PhotocellFunction") });
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(clientA, HttpMethod.Post, a.Query("/device-classes"), "/device-classes", "DeviceClass[]", classes)).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await SendAsync(clientA, HttpMethod.Post, a.Query("/device-classes"), "/device-classes", "DeviceClass[]", classes)).Status);
        // Another gateway's classes are its own: the same names are new to it, and it cannot update A's.
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientB, HttpMethod.Put, b.Query("/device-classes"), "/device-classes", "DeviceClass[]", classes)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(clientA, HttpMethod.Put, a.Query("/device-classes/photocellController"), "/device-classes/{className}", "DeviceClass", Body(Class("photocellController", "LightSensorFunction")))).Status);
        var kept = worker.Services.GetRequiredService<SmartCity.Worker.Talq.TalqDeviceStore>().ClassesOf(a.Address);
        Assert.Equal("LightSensorFunction", kept["photocellController"]["functions"]![0]!["type"]!.GetValue<string>());

        var lamp = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(clientA, HttpMethod.Post, a.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "x") }))).Status);
        var inUse = await SendAsync(clientA, HttpMethod.Delete, a.Query("/device-classes/streetLightController"), "/device-classes/{className}", null, "");
        Assert.Equal((HttpStatusCode.UnprocessableEntity, true), (inUse.Status, inUse.Body.Contains("deletingResourceIsReferred", StringComparison.Ordinal)));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(clientA, HttpMethod.Delete, a.Query("/device-classes/photocellController"), "/device-classes/{className}", null, "")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await SendAsync(clientA, HttpMethod.Delete, a.Query("/device-classes/photocellController"), "/device-classes/{className}", null, "")).Status);
    }

    [Fact]
    public async Task EveryOtherOperationOfTheCmsApi_AnswersAStatusTheSpecDeclares()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var (worker, a, _) = await StartAsync(db);
        await using var __ = worker;
        using var client = a.Client(worker.BaseAddress);
        var operations = TalqContract.CmsOperations().Where(o => !o.Path.StartsWith("/devices", StringComparison.Ordinal) && o.Path is not ("/log-reports" or "/services")).ToList();
        Assert.True(operations.Count > 60, $"only {operations.Count} operations found in the CMS file");
        foreach (var (path, method) in operations)
        {
            // Every path parameter a fresh address; a write sends an empty list or object (both JSON).
            var concrete = System.Text.RegularExpressions.Regex.Replace(path, "{[^}]+}", _ => Guid.NewGuid().ToString());
            var body = method is "get" or "delete" ? "" : path.Contains('{', StringComparison.Ordinal) ? "{}" : "[]";
            var (status, _) = await SendAsync(client, new HttpMethod(method.ToUpperInvariant()), a.Query(concrete), path, null, body);
            // The gateway's own credentials: 401 (which SendAsync does not check against the spec) would hide an unserved path.
            Assert.True((int)status is >= 200 and < 500 and not 401, $"{method} {path}: {status}");
        }
    }
}

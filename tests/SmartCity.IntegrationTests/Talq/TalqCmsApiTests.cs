using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Devices.Registry;
using static SmartCity.IntegrationTests.Talq.TalqPayloadSamples;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// Issue 27, the TALQ CMS API on the real worker, broker and InfluxDB: announced lamps join the registry
/// with the mapping file's district and site, logged values land in street_light like an MQTT lamp's, a
/// lamp failure event raises the streetlight profile's lamp_failure alert, and bad requests get the spec's
/// errors without registering anything. Every body sent and every answer is checked against the official
/// OpenAPI files (<see cref="TalqContract"/>).
/// </summary>
public sealed class TalqCmsApiTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    private static Dictionary<string, string?> Settings(string mappingFile) => new() { ["Talq:MappingFile"] = mappingFile };

    /// <summary>Sends a body checked first against the data model (none when <paramref name="json"/> is empty); checks the answer against the CMS API file.</summary>
    internal static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient client, HttpMethod method, string query, string specPath, string? bodySchema, string json)
    {
        if (bodySchema is not null)
        {
            Assert.Empty(bodySchema.EndsWith("[]", StringComparison.Ordinal)
                ? JsonSerializer.Deserialize<JsonElement[]>(json)!.SelectMany(d => TalqContract.CheckModel(bodySchema[..^2], d.GetRawText()))
                : TalqContract.CheckModel(bodySchema, json));
        }

        using var request = new HttpRequestMessage(method, query) { Content = json.Length > 0 ? new StringContent(json, Encoding.UTF8, "application/json") : null };
        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        if (status != 401)
        {
            // 401 is the transport's (HTTP Basic), not the TALQ API's; every other answer must be the spec's.
            Assert.True(TalqContract.CmsDeclares(specPath, method.Method.ToLowerInvariant(), status), $"{method} {specPath} answered {status}, which the CMS API does not declare: {body}");
            if (body.Length > 0)
            {
                Assert.Empty(TalqContract.CheckCmsResponse(specPath, method.Method.ToLowerInvariant(), status, body));
            }
        }

        return (response.StatusCode, body);
    }

    [Fact]
    public async Task AnnouncedLampAndLogReport_AreInRegistryAndInfluxAndRaiseLampFailure()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var gateway = new TalqGatewayStandIn(TestServers.UniqueName("gw-"), TestServers.UniqueName("dt"), "harbour-road");
        await using var worker = await TestWorker.StartAsync(db, overrides: Settings(TalqGatewayStandIn.WriteMappingFile(gateway)));
        using var client = gateway.Client(worker.BaseAddress);
        var lamp = Guid.NewGuid();
        var photocell = Guid.NewGuid();

        var announced = await SendAsync(client, HttpMethod.Post, gateway.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "Harbour Road 12"), Photocell(photocell) }));
        Assert.Equal(HttpStatusCode.Created, announced.Status);
        var registry = worker.Services.GetRequiredService<DeviceRegistry>();
        var record = registry.Find(lamp.ToString());
        Assert.NotNull(record);
        Assert.Equal((gateway.District, "harbour-road", "streetlight", "lighting"), (record.District, record.Site, record.Profile, record.Sector));
        Assert.Equal("photocell", registry.Find(photocell.ToString())?.Profile); // no lamp function: not one of our street lights, but a photocell

        var ts = DateTimeOffset.UtcNow.AddSeconds(-5);
        var report = Report(
            Attribute(lamp, "actuator", ts, "actualLightState", Level(80)),
            Attribute(lamp, "monitor", ts, "activePower", Float(48.5)),
            Attribute(lamp, "monitor", ts, "activeEnergy", Float(1234.5)),
            Attribute(lamp, "monitor", ts, "operatingHours", Float(10234.5)),
            Attribute(lamp, "monitor", ts, "lampPowerTooLow", new { type = "AttributeBoolean", value = false }),
            Event(lamp, ts, "lampFailure"));
        var logged = await SendAsync(client, HttpMethod.Post, gateway.Query("/log-reports"), "/log-reports", "LogReport", Body(report));
        Assert.Equal(HttpStatusCode.Created, logged.Status);

        var rows = await StoredQuery.WaitForAsync(worker.Metrics, () => db.RowsAsync($"SELECT * FROM street_light WHERE device_id = '{lamp}' GROUP BY *"), r => r.Count > 0, Timeout);
        var (tags, row) = Assert.Single(rows);
        Assert.Equal((gateway.District, "harbour-road", "streetlight"), (tags["district"], tags["site"], tags["device_type"]));
        Assert.Equal((true, 80.0, 48.5, 1234.5, 10234.5, true), (row["on"].GetBoolean(), row["dim_pct"].GetDouble(), row["power_w"].GetDouble(), row["energy_kwh"].GetDouble(), row["burning_hours"].GetDouble(), row["fault_lamp_failure"].GetBoolean()));

        using var viewer = worker.CreateClient(TestApiKeys.Viewer);
        var alerts = await ApiTestKit.PollAsync(viewer, $"/api/alerts?district={gateway.District}", (status, text) =>
            status == HttpStatusCode.OK && text.Contains("lamp_failure", StringComparison.Ordinal));
        var alert = Assert.Single(JsonSerializer.Deserialize<JsonElement[]>(alerts)!);
        Assert.Equal(("lamp_failure", lamp.ToString(), "streetlight"), (alert.GetProperty("rule").GetString(), alert.GetProperty("deviceId").GetString(), alert.GetProperty("profileId").GetString()));
    }

    [Fact]
    public async Task BadRequests_GetTheSpecsErrors_AreCounted_AndRegisterNothing()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var district = TestServers.UniqueName("dt");
        var a = new TalqGatewayStandIn(TestServers.UniqueName("gwa-"), district, "north");
        var b = new TalqGatewayStandIn(TestServers.UniqueName("gwb-"), district, "south");
        await using var worker = await TestWorker.StartAsync(db, overrides: Settings(TalqGatewayStandIn.WriteMappingFile(a, b)));
        using var clientA = a.Client(worker.BaseAddress);
        using var clientB = b.Client(worker.BaseAddress);
        var lamp = Guid.NewGuid();
        var second = Guid.NewGuid();

        // One valid device and one without its class: refused whole, the valid one is not registered.
        var halfBad = $"[{Body(Lamp(second, "ok"))},{{\"address\":\"{Guid.NewGuid()}\",\"name\":\"no class\"}}]";
        var refused = await SendAsync(clientA, HttpMethod.Post, a.Query("/devices"), "/devices", null, halfBad);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("payloadError", refused.Body, StringComparison.Ordinal);
        Assert.Null(worker.Services.GetRequiredService<DeviceRegistry>().Find(second.ToString()));

        // Missing talq-api-version, a clientAddress that is not the caller's, a wrong password.
        using (var noHeader = a.Client(worker.BaseAddress))
        {
            noHeader.DefaultRequestHeaders.Remove("talq-api-version");
            var missing = await SendAsync(noHeader, HttpMethod.Post, a.Query("/devices"), "/devices", null, Body(new[] { Lamp(lamp, "x") }));
            Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
            Assert.Contains("headerMissing", missing.Body, StringComparison.Ordinal);
        }

        var spoofed = await SendAsync(clientB, HttpMethod.Post, b.Query("/devices", a.Address), "/devices", null, Body(new[] { Lamp(lamp, "x") }));
        Assert.Equal((HttpStatusCode.BadRequest, true), (spoofed.Status, spoofed.Body.Contains("parameterValueNotValid", StringComparison.Ordinal)));
        using (var wrong = a.Client(worker.BaseAddress, password: "guessed"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(wrong, HttpMethod.Post, a.Query("/devices"), "/devices", null, Body(new[] { Lamp(lamp, "x") }))).Status);
        }

        // A announces the lamp; B may neither take it over nor report for it.
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(clientA, HttpMethod.Post, a.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "mine") }))).Status);
        var takeover = await SendAsync(clientB, HttpMethod.Put, b.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "yours?") }));
        Assert.Equal(HttpStatusCode.NotFound, takeover.Status);
        var again = await SendAsync(clientB, HttpMethod.Post, b.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "yours?") }));
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        var ts = DateTimeOffset.UtcNow.AddSeconds(-5);
        var foreign = await SendAsync(clientB, HttpMethod.Post, b.Query("/log-reports"), "/log-reports", "LogReport", Body(Report(Attribute(lamp, "monitor", ts, "activePower", Float(10)))));
        Assert.Equal((HttpStatusCode.UnprocessableEntity, true), (foreign.Status, foreign.Body.Contains("relatedResourceNotFound", StringComparison.Ordinal)));
        Assert.Equal("north", worker.Services.GetRequiredService<DeviceRegistry>().Find(lamp.ToString())!.Site);

        // A value the streetlight profile refuses (power out of range) refuses the whole report: nothing stored.
        var outOfRange = Report(Attribute(lamp, "actuator", ts, "actualLightState", Level(50)), Attribute(lamp, "monitor", ts, "activePower", Float(99999)));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await SendAsync(clientA, HttpMethod.Post, a.Query("/log-reports"), "/log-reports", "LogReport", Body(outOfRange))).Status);
        Assert.Equal(0, await db.CountAsync($"SELECT count(power_w) FROM street_light WHERE device_id = '{lamp}'"));

        var rejected = worker.Metrics.Snapshot().RejectedByReason;
        string[] reasons = ["talq_payloadError", "talq_headerMissing", "talq_parameterValueNotValid", "talq_resourceNotFound", "talq_resourceConflict", "talq_relatedResourceNotFound"];
        Assert.Equal([2L, 1L, 1L, 1L, 1L, 1L], reasons.Select(r => rejected.GetValueOrDefault(r)));
    }

    [Fact]
    public void Contract_RefusesBodiesTheSchemasRefuse()
    {
        // The checks above can fail: an error without its key, a device without class, a log entry without srcAddress.
        Assert.NotEmpty(TalqContract.CheckCmsResponse("/devices", "post", 400, """[{ "description": "no key" }]"""));
        Assert.NotEmpty(TalqContract.CheckModel("Device", $$"""{ "address": "{{Guid.NewGuid()}}", "name": "x" }"""));
        Assert.NotEmpty(TalqContract.CheckModel("LogReport", """{ "address": "l", "entries": [ { "data": { "type": "EventLogData", "eventType": "lampFailure" } } ] }"""));
        Assert.Empty(TalqContract.CheckCmsResponse("/devices", "post", 400, """[{ "key": "payloadError", "description": "d" }]"""));
    }

    [Fact]
    public void MappingFile_BadEntries_AreEachNamed()
    {
        var path = TalqGatewayStandIn.WriteMappingFile();
        File.WriteAllText(path, """
            { "gateways": [
              { "address": "not-a-uuid", "username": "gw", "passwordSha256": "abc", "district": "d 1", "site": "s1",
                "api": { "url": "ftp://x", "username": "u", "passwordFile": "/nonexistent/pw", "cmsAddress": "x" } } ] }
            """);
        var (map, problems) = SmartCity.Worker.Talq.TalqGatewayMap.Load(path);
        Assert.Empty(map.Gateways);
        foreach (var named in new[] { "'address'", "'passwordSha256'", "'district'", "'url'", "'cmsAddress'", "passwordFile" })
        {
            Assert.Contains(problems, p => p.Contains(named, StringComparison.Ordinal));
        }
    }
}

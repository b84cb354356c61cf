using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Worker.Talq;
using static SmartCity.IntegrationTests.Talq.TalqCmsApiTests;
using static SmartCity.IntegrationTests.Talq.TalqPayloadSamples;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// Issue 27, the CMS API's <c>attributeScope</c> on GET /devices/{deviceAddress}/{functionId}: only the attributes of
/// that scope (the data model's <c>x-talq-scope</c>), the spec's 400 for a scope that is none, every answer checked
/// against the CMS OpenAPI file; and the product's table of scopes is the data model's.
/// </summary>
public sealed partial class TalqAttributeScopeTests
{
    [Fact]
    public void Scopes_EveryFunctionsTable_IsTheDataModels()
    {
        using var model = JsonDocument.Parse(File.ReadAllText(Path.Combine(TalqContract.Directory, TalqContract.DataModel)));
        var schemas = model.RootElement.GetProperty("components").GetProperty("schemas");
        foreach (var function in TalqAttributeScopes.FunctionTypes)
        {
            var attributes = schemas.GetProperty(function).GetProperty("allOf").EnumerateArray()
                .Where(part => part.TryGetProperty("properties", out _))
                .SelectMany(part => part.GetProperty("properties").EnumerateObject())
                .Select(p => (p.Name, Scope: ScopeIn().Match(p.Value.GetRawText()) is { Success: true } m ? m.Groups[1].Value.ToLowerInvariant() : null))
                .Where(p => p.Scope is not null)
                .ToList();
            Assert.NotEmpty(attributes);
            Assert.All(attributes, a => Assert.Equal((a.Name, a.Scope), (a.Name, TalqAttributeScopes.Of(function, a.Name))));
        }
    }

    [Fact]
    public async Task GetFunction_WithAttributeScope_AnswersOnlyThatScopesAttributes()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var gateway = new TalqGatewayStandIn(TestServers.UniqueName("gws-"), TestServers.UniqueName("dt"), "north");
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?> { ["Talq:MappingFile"] = TalqGatewayStandIn.WriteMappingFile(gateway) });
        using var client = gateway.Client(worker.BaseAddress);
        var lamp = Guid.NewGuid();
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, HttpMethod.Post, gateway.Query("/devices"), "/devices", "Device[]", Body(new[] { Lamp(lamp, "North 1") }))).Status);
        var ts = DateTimeOffset.UtcNow.AddSeconds(-5);
        // A measurement, a configuration value and a maker's own attribute (no scope in the data model).
        var report = Report(
            Attribute(lamp, "monitor", ts, "activePower", Float(48.5)),
            Attribute(lamp, "monitor", ts, "highSupplyVoltageThreshold", Float(253)),
            Attribute(lamp, "monitor", ts, "acmeDriverTemperature", Float(51)));
        Assert.Equal(HttpStatusCode.Created, (await SendAsync(client, HttpMethod.Post, gateway.Query("/log-reports"), "/log-reports", "LogReport", Body(report))).Status);

        async Task<string[]> AttributesAsync(string query)
        {
            var (status, body) = await SendAsync(client, HttpMethod.Get, gateway.Query($"/devices/{lamp}/monitor") + query, "/devices/{deviceAddress}/{functionId}", null, "");
            Assert.Equal(HttpStatusCode.OK, status);
            return [.. JsonDocument.Parse(body).RootElement.EnumerateObject().Select(p => p.Name).Where(n => n is not ("id" or "type")).Order(StringComparer.Ordinal)];
        }

        Assert.Equal(["acmeDriverTemperature", "activePower", "highSupplyVoltageThreshold"], await AttributesAsync(""));
        Assert.Equal(["activePower"], await AttributesAsync("&attributeScope=measurement"));
        Assert.Equal(["highSupplyVoltageThreshold"], await AttributesAsync("&attributeScope=Configuration"));
        Assert.Empty(await AttributesAsync("&attributeScope=event"));
        var bad = await SendAsync(client, HttpMethod.Get, gateway.Query($"/devices/{lamp}/monitor") + "&attributeScope=everything", "/devices/{deviceAddress}/{functionId}", null, "");
        Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
    }

    [GeneratedRegex("\"x-talq-scope\":\\s*\"([a-zA-Z]+)\"")]
    private static partial Regex ScopeIn();
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using static SmartCity.IntegrationTests.Talq.TalqPayloadSamples;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// Issue 27 end to end: an operator command to a lamp announced by a TALQ gateway goes to that gateway as an
/// override command (accepted by the validating Prism mock of the gateway API), and the gateway's next log
/// report at the commanded level confirms it, as the lighting-control issue defines confirmation.
/// </summary>
public sealed class TalqCommandTests
{
    private static async Task PostAsync(HttpClient client, string query, string json, HttpStatusCode expected)
    {
        using var response = await client.PostAsync(new Uri(query, UriKind.Relative), new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
        Assert.True(response.StatusCode == expected, $"{query}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task OperatorCommand_ToTalqLamp_IsSentAsOverride_AndConfirmedByTheLogReport()
    {
        await using var mock = await PrismGatewayMock.StartAsync();
        await using var db = await InfluxTestDatabase.CreateAsync();
        var gateway = new TalqGatewayStandIn(TestServers.UniqueName("gw-"), TestServers.UniqueName("dt"), "quay");
        var mapping = gateway.WriteMappingFileWithApi(mock.BaseUrl);
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Talq:MappingFile"] = mapping,
            ["Lighting:ConfirmTimeout"] = "00:02:00",
            ["Lighting:TickInterval"] = "00:00:00.200",
        });
        using var talq = gateway.Client(worker.BaseAddress);
        var lamp = Guid.NewGuid();
        await PostAsync(talq, gateway.Query("/devices"), Body(new[] { Lamp(lamp, "Quay 3") }), HttpStatusCode.Created);
        var ts = DateTimeOffset.UtcNow.AddSeconds(-5);
        await PostAsync(talq, gateway.Query("/log-reports"), Body(Report(Attribute(lamp, "actuator", ts, "actualLightState", Level(100)), Attribute(lamp, "monitor", ts, "activePower", Float(60)))), HttpStatusCode.Created);

        using var @operator = worker.CreateClient(TestApiKeys.Operator);
        using var sent = await @operator.PostAsJsonAsync(new Uri("/api/lighting/commands", UriKind.Relative), new { targetKind = "lamp", target = lamp.ToString(), dimPct = 40, reason = "quay works" });
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
        var receipt = await sent.Content.ReadFromJsonAsync<JsonElement>();
        var commandId = receipt.GetProperty("commandId").GetString();
        Assert.Equal(1, receipt.GetProperty("sent").GetArrayLength());
        var pending = JsonSerializer.Deserialize<JsonElement[]>(await @operator.GetStringAsync(new Uri($"/api/lighting/commands?commandId={commandId}", UriKind.Relative)))!;
        Assert.Equal("pending", Assert.Single(pending).GetProperty("status").GetString());
        // The command is handed to the channel before the receipt returns: a refused or failed override is logged (9002) by then.
        Assert.DoesNotContain(worker.Logs.Entries, e => e.EventId == 9002);

        var later = DateTimeOffset.UtcNow.AddSeconds(-1);
        await PostAsync(talq, gateway.Query("/log-reports"), Body(Report(Attribute(lamp, "actuator", later, "actualLightState", Level(40)), Attribute(lamp, "monitor", later, "activePower", Float(25)))), HttpStatusCode.Created);
        await ApiTestKit.PollAsync(@operator, $"/api/lighting/commands?commandId={commandId}", (status, text) =>
            status == HttpStatusCode.OK && text.Contains("\"confirmed\"", StringComparison.Ordinal));
    }
}

using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Lighting;

/// <summary>Energy saved: measured kWh against the same lamp at full power over the same hours, in the API and in InfluxDB.</summary>
public sealed class LightingEnergyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Energy_LampDimmedToHalfForAnHour_SavedKwhAndMoneyPerDistrict()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Lighting:TariffPerKwh"] = "2.5",
            ["Lighting:Currency"] = "CHF",
            ["Lighting:EnergyMaxGap"] = "02:00:00",
            ["Lighting:TickInterval"] = "00:00:00.200",
        });
        var district = TestServers.UniqueName("de");
        var topic = $"{worker.TopicRoot}/lighting/{district}/quay/streetlight/lamp-e1";
        await using var lamp = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("lamp-"), CancellationToken.None);
        var start = DateTimeOffset.UtcNow.AddHours(-3);
        await Publish(lamp, topic + "/status", $$"""{"v":1,"ts":"{{Ts(start.AddMinutes(-1))}}","online":true,"profile":"streetlight","district":"{{district}}","site":"quay"}""", retain: true);
        // An hour at 50 % (30 W of a 60 W lamp), then an hour at 100 %: 90 Wh used where 120 Wh would have been at full power.
        await Publish(lamp, topic + "/telemetry", $$"""{"v":1,"ts":"{{Ts(start)}}","on":true,"dim_pct":50,"power_w":30}""");
        await Publish(lamp, topic + "/telemetry", $$"""{"v":1,"ts":"{{Ts(start.AddHours(1))}}","on":true,"dim_pct":100,"power_w":60}""");
        await Publish(lamp, topic + "/telemetry", $$"""{"v":1,"ts":"{{Ts(start.AddHours(2))}}","on":true,"dim_pct":100,"power_w":60}""");

        using var client = worker.CreateClient(TestApiKeys.Viewer);
        var month = start.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);
        var body = await ApiTestKit.PollAsync(client, $"/api/lighting/energy?month={month}", (status, text) =>
            status == HttpStatusCode.OK && JsonDocument.Parse(text).RootElement.GetProperty("districts").EnumerateArray()
                .Any(d => d.GetProperty("district").GetString() == district && d.GetProperty("fullPowerKwh").GetDouble() >= 0.12));
        var answer = JsonDocument.Parse(body).RootElement;
        var row = answer.GetProperty("districts").EnumerateArray().Single(d => d.GetProperty("district").GetString() == district);

        Assert.Equal("CHF", answer.GetProperty("currency").GetString());
        Assert.Equal(0.09, row.GetProperty("measuredKwh").GetDouble(), 6);
        Assert.Equal(0.12, row.GetProperty("fullPowerKwh").GetDouble(), 6);
        Assert.Equal(0.03, row.GetProperty("savedKwh").GetDouble(), 6);
        Assert.Equal(0.08m, row.GetProperty("savedMoney").GetDecimal());
        var stored = await StoredQuery.WaitForAsync(worker.Metrics,
            () => db.RowsAsync($"SELECT sum(\"saved_kwh\") AS saved, sum(\"full_kwh\") AS full FROM \"lighting_energy\" WHERE \"district\" = '{district}'"),
            // InfluxDB 1.6 applies a point's fields to its cache one series at a time: a query racing the write can see
            // the sum of one field and null for the other (seen once on a loaded machine), which is "not yet", not an answer.
            rows => rows.Count == 1 && rows[0].Row["full"] is { ValueKind: JsonValueKind.Number } full && full.GetDouble() >= 0.12 - 1e-9, Timeout);
        Assert.Equal(0.03, Assert.Single(stored).Row["saved"].GetDouble(), 6);

        using var bad = await client.GetAsync(new Uri("/api/lighting/energy?month=december", UriKind.Relative));
        await ApiTestKit.ProblemAsync(bad, HttpStatusCode.BadRequest);
    }

    private static string Ts(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static Task Publish(MqttPublisher publisher, string topic, string json, bool retain = false) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, retain, CancellationToken.None);
}

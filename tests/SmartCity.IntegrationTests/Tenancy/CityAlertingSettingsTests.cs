using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;

namespace SmartCity.IntegrationTests.Tenancy;

/// <summary>
/// Issue 21, per-city alerting settings from the partition map: two cities' workers on the real
/// broker and InfluxDB, one in Paris and one in New York. The same classroom readings (same UTC
/// instants, device time) reach both; the school-hours CO2 rule fires where it is a school morning.
/// </summary>
public sealed class CityAlertingSettingsTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task SchoolHoursRule_SameReadingsInTwoCitiesOfOtherTimeZones_EachRaisesByItsOwnClock()
    {
        await using var cities = await TwoCities.CreateAsync(
            new() { ["Alerting:TimeZone"] = "Europe/Paris", ["Alerting:Latitude"] = "48.8566", ["Alerting:Longitude"] = "2.3522" },
            new() { ["Alerting:TimeZone"] = "America/New_York", ["Alerting:Latitude"] = "40.7128", ["Alerting:Longitude"] = "-74.0060" });
        await using var workerA = await cities.StartWorkerAsync(cities.A);
        await using var workerB = await cities.StartWorkerAsync(cities.B);

        // A past school day (Tuesday to Thursday) in both cities. 09:00Z is 10:00 or 11:00 in Paris (a
        // lesson) and 04:00 or 05:00 in New York (night); 15:00Z is 16:00 or 17:00 in Paris (after
        // school, 15:30) and 10:00 or 11:00 in New York (a lesson).
        var day = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        while (day.DayOfWeek is not (DayOfWeek.Tuesday or DayOfWeek.Wednesday or DayOfWeek.Thursday))
        {
            day = day.AddDays(-1);
        }

        var parisMorning = new DateTimeOffset(day.ToDateTime(new TimeOnly(9, 0)), TimeSpan.Zero);
        var newYorkMorning = new DateTimeOffset(day.ToDateTime(new TimeOnly(15, 0)), TimeSpan.Zero);
        var perCity = 0;
        await using (var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("cls-"), CancellationToken.None))
        {
            foreach (var city in new[] { cities.A, cities.B })
            {
                perCity = await PublishStuffyRoomAsync(publisher, city.Root, "cls-paris-time", parisMorning)
                    + await PublishStuffyRoomAsync(publisher, city.Root, "cls-newyork-time", newYorkMorning);
            }
        }

        // Every message (births are points too) judged by both workers: the rules run before a point is spooled and written.
        await workerA.Metrics.WaitUntilAsync(s => s.PointsWritten >= perCity, Timeout);
        await workerB.Metrics.WaitUntilAsync(s => s.PointsWritten >= perCity, Timeout);

        Assert.Equal(["cls-paris-time"], await Co2AlertsAsync(workerA));
        Assert.Equal(["cls-newyork-time"], await Co2AlertsAsync(workerB));
    }

    /// <summary>A classroom's birth (retained, as devices do), then CO2 at 1,800 ppm every minute for 15 minutes from <paramref name="from"/>; the number of messages.</summary>
    private static async Task<int> PublishStuffyRoomAsync(MqttPublisher publisher, string root, string deviceId, DateTimeOffset from)
    {
        var topic = $"{root}/education/d01/school-1/classroom_env/{deviceId}";
        await publisher.PublishAsync(topic + "/status", Json($$"""{"v":1,"ts":"{{Ts(from.AddMinutes(-1))}}","online":true,"profile":"classroom_env","district":"d01","site":"school-1"}"""), MqttQualityOfServiceLevel.AtLeastOnce, true, CancellationToken.None);
        const int Readings = 16;
        for (var m = 0; m < Readings; m++)
        {
            await publisher.PublishAsync(topic + "/telemetry", Json($$"""{"v":1,"ts":"{{Ts(from.AddMinutes(m))}}","co2_ppm":1800,"temperature_c":21.5}"""), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        }

        return Readings + 1;
    }

    private static async Task<string[]> Co2AlertsAsync(TestWorker worker) =>
        [.. (await worker.Services.GetRequiredService<AlertingService>().AlertsAsync(CancellationToken.None))
            .Where(a => a.Rule == "co2_high").Select(a => a.DeviceId).Order(StringComparer.Ordinal)];

    private static string Ts(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    private static byte[] Json(string text) => Encoding.UTF8.GetBytes(text);
}

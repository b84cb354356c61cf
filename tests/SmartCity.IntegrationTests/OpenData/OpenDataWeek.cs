using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.OpenData.Hosting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.OpenData;

/// <summary>
/// One real worker (real broker, real InfluxDB) with the open data on, fed a simulated week through
/// MQTT, plus security devices and events with distinctive ids; the datasets are then rebuilt once.
/// Shared by the open-data test classes of one run through a collection fixture.
/// </summary>
public sealed class OpenDataWeek : IAsyncLifetime
{
    /// <summary>Distinctive strings of the security devices: none may ever appear in an export.</summary>
    public static readonly string[] SecurityMarkers = ["door-secret-4711", "pir-secret-4712", "panic-secret-4713", "cam-secret-4718", "alarm-secret-4719", "secret-site-4716", "SECRET-DETAIL-4717"];

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);
    private InfluxTestDatabase? _db;
    private TestWorker? _worker;

    internal SimulatedWeek Week { get; private set; } = null!;

    public TestWorker Worker => _worker!;

    public InfluxTestDatabase Database => _db!;

    public const string OfflineSensor = "school-b-cls-1";

    public async Task InitializeAsync()
    {
        _db = await InfluxTestDatabase.CreateAsync();
        _worker = await TestWorker.StartAsync(_db, overrides: new Dictionary<string, string?>
        {
            ["OpenData:Enabled"] = "true",
            // The schedule is not under test here: the test rebuilds when the week is stored.
            ["OpenData:RefreshInterval"] = "7.00:00:00",
            ["OpenData:Publisher"] = "Ville de Test",
        });
        var now = DateTimeOffset.UtcNow;
        Week = new SimulatedWeek(new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero));
        await using var mqtt = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("week-"), CancellationToken.None);
        await PublishWeekAsync(mqtt, now);
        await PublishSecurityAsync(mqtt, now);

        var lampReadings = Week.Lamps.Sum(l => l.Readings.Count);
        var co2Readings = Week.Classrooms.Sum(c => c.Readings.Count);
        var closedOutages = SimulatedWeek.Outages.Length;
        await StoredQuery.WaitForAsync(Worker.Metrics, async () =>
            (await _db.CountAsync("SELECT count(power_w) FROM street_light"), await _db.CountAsync("SELECT count(co2_ppm) FROM classroom_env"),
             await _db.CountAsync("SELECT count(alert_id) FROM alert_transition WHERE \"sector\" = 'lighting' AND \"transition\" = 'raised'"),
             await _db.CountAsync("SELECT count(alert_id) FROM alert_transition WHERE \"sector\" = 'security'"),
             await _db.CountAsync("SELECT count(online) FROM device_status WHERE \"sector\" = 'security'")),
            c => c.Item1 == lampReadings && c.Item2 == co2Readings && c.Item3 >= closedOutages && c.Item4 > 0 && c.Item5 >= 5, Timeout);
        // Every repair written too (the last outage stays open).
        await StoredQuery.WaitForAsync(Worker.Metrics,
            () => _db.CountAsync("SELECT count(alert_id) FROM alert_transition WHERE \"sector\" = 'lighting' AND \"transition\" = 'resolved'"),
            c => c >= SimulatedWeek.Outages.Count(o => o.To is not null), Timeout);
        Assert.True(await Worker.Services.GetRequiredService<OpenDataRefresher>().RefreshAsync(CancellationToken.None));
    }

    private async Task PublishWeekAsync(MqttPublisher mqtt, DateTimeOffset now)
    {
        var root = Worker.TopicRoot;
        foreach (var lamp in Week.Lamps)
        {
            var topic = $"{root}/lighting/{lamp.District}/{lamp.Site}/streetlight/{lamp.Id}";
            await PublishAsync(mqtt, topic + "/status", $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(Week.Start.AddMinutes(-5))}}","online":true,"profile":"streetlight","district":"{{lamp.District}}","site":"{{lamp.Site}}"}""");
            foreach (var r in lamp.Readings)
            {
                var faults = r.Fault is null ? "[]" : $"[\"{r.Fault}\"]";
                await PublishAsync(mqtt, topic + "/telemetry", string.Create(CultureInfo.InvariantCulture,
                    $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(r.Time)}}","on":false,"dim_pct":0,"power_w":40,"energy_kwh":{{r.EnergyKwh}},"faults":{{faults}}}"""));
            }
        }

        foreach (var room in Week.Classrooms)
        {
            var topic = $"{root}/education/{room.District}/{room.School}/classroom_env/{room.Id}";
            await PublishAsync(mqtt, topic + "/status", $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(Week.Start.AddMinutes(-5))}}","online":true,"profile":"classroom_env","district":"{{room.District}}","site":"{{room.School}}"}""");
            foreach (var r in room.Readings)
            {
                await PublishAsync(mqtt, topic + "/telemetry", string.Create(CultureInfo.InvariantCulture,
                    $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(r.Time)}}","co2_ppm":{{r.Co2}},"temperature_c":21.5,"battery_pct":80}"""));
            }

            if (room.Id == OfflineSensor)
            {
                // Its last will: the service status counts it offline.
                await PublishAsync(mqtt, topic + "/status", $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(now)}}","online":false}""");
            }
        }
    }

    /// <summary>Security devices and events through the real pipeline, with ids and details that must never be published.</summary>
    private async Task PublishSecurityAsync(MqttPublisher mqtt, DateTimeOffset now)
    {
        var root = Worker.TopicRoot;
        foreach (var (type, id, eventName) in new[] { ("door_contact", "door-secret-4711", "forced"), ("motion_detector", "pir-secret-4712", "motion"), ("panic_button", "panic-secret-4713", "pressed") })
        {
            var topic = $"{root}/security/d01/secret-site-4716/{type}/{id}";
            await PublishAsync(mqtt, topic + "/status", $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(now.AddSeconds(-3))}}","online":true,"profile":"{{type}}","district":"d01","site":"secret-site-4716"}""");
            await PublishAsync(mqtt, topic + "/event", $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(now.AddSeconds(-2))}}","event":"{{eventName}}","detail":"SECRET-DETAIL-4717"}""");
        }

        // Five security devices in all: as many as the minimum group size, so only the sector rule keeps them out of the service status.
        foreach (var (type, id) in new[] { ("camera", "cam-secret-4718"), ("alarm_panel", "alarm-secret-4719") })
        {
            await PublishAsync(mqtt, $"{root}/security/d01/secret-site-4716/{type}/{id}/status",
                $$"""{"v":1,"ts":"{{SimulatedWeek.Ts(now.AddSeconds(-3))}}","online":true,"profile":"{{type}}","district":"d01","site":"secret-site-4716"}""");
        }
    }

    private static Task PublishAsync(MqttPublisher mqtt, string topic, string json) =>
        mqtt.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);

    public async Task DisposeAsync()
    {
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        if (_db is not null)
        {
            await _db.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class OpenDataWeekFixture : ICollectionFixture<OpenDataWeek>
{
    public const string Name = "open data week";
}

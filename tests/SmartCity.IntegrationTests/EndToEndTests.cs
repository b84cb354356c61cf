using System.Globalization;
using System.Text;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests;

/// <summary>Simulator -> real mosquitto -> worker -> real InfluxDB, counted with InfluxQL.</summary>
public sealed class EndToEndTests
{
    private static readonly TimeSpan StoreTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Pipeline_10000MessagesFrom200Lamps_StoresExactly10000PointsWithDeviceTimestamps()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var options = new LightingSimulationOptions
        {
            Broker = TestWorker.Broker,
            Lamps = 200,
            Messages = 10_000,
            Rate = 0,
            Seed = 42,
            TopicRoot = worker.TopicRoot,
            ClientId = TestServers.UniqueName("sim-"),
            Start = DateTimeOffset.UtcNow.AddHours(-2).AddTicks(-(DateTimeOffset.UtcNow.Ticks % TimeSpan.TicksPerSecond)),
            Interval = TimeSpan.FromSeconds(30),
        };

        var stats = await LightingSimulation.RunAsync(options);

        Assert.Equal(10_000, stats.Published);
        Assert.Equal(0, stats.Failed);
        // 200 births (device_status points) and 10,000 readings.
        var snapshot = await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= 10_200, StoreTimeout);
        Assert.Equal(10_200, snapshot.PointsWritten);
        Assert.Equal(0, snapshot.Rejected);
        Assert.Equal(200, await db.CountAsync("SELECT count(online) FROM device_status"));
        Assert.Equal(10_000, await db.CountAsync("SELECT count(power_w) FROM street_light"));

        // The documented schema: tags and fields of docs/influxdb-schema.md.
        var tagKeys = (await db.RowsAsync("SHOW TAG KEYS FROM street_light")).Select(r => r.Row["tagKey"].GetString()).Order();
        Assert.Equal(["device_id", "device_type", "district", "sector", "site"], tagKeys);
        var fieldKeys = (await db.RowsAsync("SHOW FIELD KEYS FROM street_light")).ToDictionary(r => r.Row["fieldKey"].GetString()!, r => r.Row["fieldType"].GetString());
        Assert.Equal("float", fieldKeys["power_w"]);
        Assert.Equal("float", fieldKeys["dim_pct"]);
        Assert.Equal("boolean", fieldKeys["on"]);
        Assert.Equal("integer", fieldKeys["seq"]);
        Assert.Equal("boolean", fieldKeys["fault_lamp_failure"]);

        // Every stored point is exactly one simulated message: same device, same device timestamp, same value.
        var fleet = LightingSimulation.CreateFleet(options, DateTimeOffset.UtcNow);
        var expected = Enumerable.Range(0, 10_000).Select(k => fleet.Create(k)).ToDictionary(
            m => (m.DeviceId, m.Timestamp.ToUnixTimeMilliseconds()),
            m => System.Text.Json.JsonDocument.Parse(m.Payload).RootElement.GetProperty("power_w").GetDouble());
        var rows = await db.RowsAsync("SELECT power_w FROM street_light GROUP BY device_id");
        Assert.Equal(10_000, rows.Count);
        Assert.Equal(200, rows.Select(r => r.Tags["device_id"]).Distinct().Count());
        foreach (var (tags, row) in rows)
        {
            var key = (tags["device_id"], row["time"].GetInt64());
            Assert.True(expected.TryGetValue(key, out var power), $"stored point {key} was never published");
            Assert.Equal(power, row["power_w"].GetDouble());
        }

        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    [Fact]
    public async Task Pipeline_BadMessagesInterleaved_EachCountedByReasonAndEveryValidMessageStored()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var root = worker.TopicRoot;
        var fleet = new StreetLightFleet(20, 2, root, seed: 5, DateTimeOffset.UtcNow.AddHours(-1).AddTicks(-(DateTimeOffset.UtcNow.Ticks % TimeSpan.TicksPerSecond)), TimeSpan.FromSeconds(10));
        var lamp = fleet.Lamps[0];
        var topic = StreetLightFleet.TopicFor(root, lamp, "telemetry");
        var ts = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("O", CultureInfo.InvariantCulture);
        var bad = new (string Topic, string Payload, string Reason)[]
        {
            (topic, """{"v":1,"ts":""" + '"' + ts + "\",\"on\":true,", "MalformedJson"),
            (topic, "\u0001\u0002 binary garbage", "MalformedJson"),
            (topic, $$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50}""", "MissingField"),
            (topic, $$"""{"v":1,"ts":"{{ts}}","dim_pct":50,"power_w":20}""", "MissingField"),
            (topic, $$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":"twenty"}""", "WrongType"),
            (topic, $$"""{"v":1,"ts":"{{ts}}","on":"true","dim_pct":50,"power_w":20}""", "WrongType"),
            (topic, $$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":500,"power_w":20}""", "OutOfRange"),
            ($"{root}/lighting/{lamp.District}/streetlight/{lamp.DeviceId}/telemetry", $$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":20}""", "InvalidTopic"),
            ($"{root}/lighting/{lamp.District}/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry/x", "{}", "InvalidTopic"),
            ($"{root}/parking/{lamp.District}/{lamp.Site}/bay/b1/telemetry", "{}", "InvalidTopic"),
            ($"{root}/lighting/{lamp.District}/{lamp.Site}/toaster/t1/telemetry", "{}", "UnknownDeviceType"),
        };

        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("sim-"), CancellationToken.None);
        await LightingSimulation.AnnounceAsync(fleet, publisher, MqttQualityOfServiceLevel.AtLeastOnce, CancellationToken.None);
        const int Good = 400;
        var badSent = 0;
        for (var k = 0; k < Good; k++)
        {
            var m = fleet.Create(k);
            await publisher.PublishAsync(m.Topic, m.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            if (k % 10 == 0)
            {
                var b = bad[badSent % bad.Length];
                await publisher.PublishAsync(b.Topic, Encoding.UTF8.GetBytes(b.Payload), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
                badSent++;
            }
        }

        // A command to a lamp travels on the same tree: acknowledged and counted, not stored, not an error.
        await publisher.PublishAsync(StreetLightFleet.TopicFor(root, lamp, "cmd"), """{"cmd":"dim","level":40}"""u8.ToArray(), MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);

        var births = fleet.Lamps.Count;
        var s = await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= Good + births && s.DeadLettersWritten >= badSent && s.Ignored >= 1, StoreTimeout);

        Assert.Equal(Good + births, s.PointsWritten);
        Assert.Equal(badSent, s.Rejected);
        Assert.Equal(1, s.Ignored);
        var expectedByReason = Enumerable.Range(0, badSent).GroupBy(i => bad[i % bad.Length].Reason).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expectedByReason.OrderBy(kv => kv.Key), s.RejectedByReason.OrderBy(kv => kv.Key));
        Assert.True(s.SourceConnected, "the worker must still be connected after bad input");

        Assert.Equal(Good, await db.CountAsync("SELECT count(power_w) FROM street_light"));
        Assert.Equal(badSent, await db.CountAsync("SELECT count(payload_bytes) FROM dead_letter"));
        var reasons = (await db.RowsAsync("SELECT count(payload_bytes) FROM dead_letter GROUP BY reason"))
            .ToDictionary(r => r.Tags["reason"], r => r.Row["count"].GetInt64());
        Assert.Equal(expectedByReason.OrderBy(kv => kv.Key), reasons.OrderBy(kv => kv.Key));

        var recent = worker.DeadLetters.Recent();
        Assert.Contains(recent, r => r.Reason == "WrongType" && r.Detail.Contains("'power_w' must be a number", StringComparison.Ordinal));
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    [Fact]
    public async Task Worker_WritesItsOwnCountersToPipelineStats()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?> { ["PipelineReport:Interval"] = "00:00:00.200" });
        await LightingSimulation.RunAsync(new LightingSimulationOptions
        {
            Broker = TestWorker.Broker, Lamps = 10, Messages = 100, Rate = 0, TopicRoot = worker.TopicRoot, ClientId = TestServers.UniqueName("sim-"),
        });
        await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= 110, StoreTimeout);

        // Each report is committed by the sink, which signals progress: re-query after each, never sleep.
        var received = await StoredQuery.WaitForAsync(
            worker.Metrics,
            async () =>
            {
                var rows = await db.RowsAsync("SELECT last(received) AS received, last(devices_registered) AS devices FROM pipeline_stats");
                return rows.Count == 0 ? 0 : rows[0].Row["received"].GetInt64();
            },
            r => r >= 110,
            StoreTimeout);

        Assert.Equal(110, received);
        var tags = (await db.RowsAsync("SHOW TAG VALUES FROM pipeline_stats WITH KEY = \"worker\"")).Select(r => r.Row["value"].GetString());
        Assert.Single(tags);
        // The worker's own points are not counted as device points.
        Assert.Equal(110, worker.Metrics.Snapshot().PointsWritten);
    }
}

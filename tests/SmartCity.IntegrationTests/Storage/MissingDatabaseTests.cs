using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Devices;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;

namespace SmartCity.IntegrationTests.Storage;

/// <summary>
/// Issue 24 item 6: a worker pointed at a database that does not exist said nothing at start:
/// /healthz answered 200 until the first write was refused. Against the real InfluxDB.
/// </summary>
public sealed class MissingDatabaseTests
{
    [Fact]
    public async Task Start_DatabaseMissing_ReportedAtOnceInHealthzAndACriticalLog_DataWaitsInTheSpool()
    {
        await using var db = InfluxTestDatabase.NotCreated();
        await using var worker = await TestWorker.StartAsync(db);

        // Before any message: the start itself finds it missing.
        await worker.Logs.WaitForAsync(entries => entries.Any(e => e.Level == LogLevel.Critical && e.Message.Contains($"'{db.Name}' not found", StringComparison.Ordinal)), DeviceTestKit.Timeout);
        var (status, problems, details) = await HealthAsync(worker, TestApiKeys.Viewer);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("InfluxDB bucket not found", problems);
        Assert.Contains($"bucket '{db.Name}' not found in InfluxDB: create it, or set Influx:CreateBucket=true", details);

        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("nodb-"), CancellationToken.None);
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-1));
        await publisher.PublishTextAsync($"{worker.TopicRoot}/lighting/d01/d01-street-001/streetlight/lamp-1/status", DeviceTestKit.Birth("streetlight", t0, "d01", "d01-street-001"), retain: true);
        var s = await worker.Metrics.WaitUntilAsync(s => s.Acknowledged >= 1, DeviceTestKit.Timeout);
        Assert.True(s.SpoolDepth >= 1, $"spool depth {s.SpoolDepth}");
        Assert.Equal(0, s.PointsWritten);
        Assert.Equal(0, s.WriteFailures); // nothing was sent to a database that is not there
        Assert.DoesNotContain(db.Name, await db.ServerDatabasesAsync());
    }

    [Fact]
    public async Task Start_DatabaseMissing_CreateBucketTrue_CreatedAndStored()
    {
        await using var db = InfluxTestDatabase.NotCreated();
        Assert.DoesNotContain(db.Name, await db.ServerDatabasesAsync());
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?> { ["Influx:CreateBucket"] = "true" });
        await using var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("mkdb-"), CancellationToken.None);
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-1));
        string Topic(string kind) => $"{worker.TopicRoot}/lighting/d01/d01-street-001/streetlight/lamp-1/{kind}";
        await publisher.PublishTextAsync(Topic("status"), DeviceTestKit.Birth("streetlight", t0, "d01", "d01-street-001"), retain: true);
        await publisher.PublishTextAsync(Topic("telemetry"), $$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0.AddSeconds(1))}}","on":true,"dim_pct":50,"power_w":40}""");

        var stored = await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync("SELECT count(\"power_w\") FROM \"street_light\""), n => n >= 1, DeviceTestKit.Timeout);
        Assert.Equal(1, stored);
        Assert.Contains(db.Name, await db.ServerDatabasesAsync());
        Assert.Contains(worker.Logs.Entries, e => e.EventId == 2011 && e.Message.Contains(db.Name, StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, (await HealthAsync(worker)).Status);
        Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));
    }

    /// <summary>/healthz as <paramref name="key"/> sees it (anonymous when null: no details).</summary>
    private static async Task<(HttpStatusCode Status, IReadOnlyList<string?> Problems, IReadOnlyList<string?> Details)> HealthAsync(TestWorker worker, TestApiKeys.TestKey? key = null)
    {
        using var http = worker.CreateClient(key);
        using var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        return (response.StatusCode, List(body, "problems"), List(body, "details"));
    }

    private static List<string?> List(JsonElement body, string name) =>
        body.TryGetProperty(name, out var items) ? [.. items.EnumerateArray().Select(x => x.GetString())] : [];
}

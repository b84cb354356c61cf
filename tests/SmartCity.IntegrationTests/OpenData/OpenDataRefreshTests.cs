using System.Globalization;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.OpenData;
using SmartCity.OpenData.Datasets;
using SmartCity.OpenData.Hosting;
using SmartCity.OpenData.Publishing;

namespace SmartCity.IntegrationTests.OpenData;

/// <summary>The schedule (on a fake clock), the copy on disk across a restart, and the rate limit on public reads.</summary>
public sealed class OpenDataRefreshTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Refresh_IntervalElapsesOnTheClock_DatasetsRebuiltAndPublished()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: Enabled("7.00:00:00"));
        var store = worker.Services.GetRequiredService<OpenDataStore>();
        var published = 0;
        var builds = new[] { new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        store.Published += () =>
        {
            var n = Interlocked.Increment(ref published);
            if (n <= builds.Length)
            {
                builds[n - 1].TrySetResult();
            }

            return Task.CompletedTask;
        };
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var refresher = new OpenDataRefresher(worker.Services.GetRequiredService<OpenDataBuilder>(), store,
            Options.Create(new OpenDataOptions { Enabled = true, RefreshInterval = TimeSpan.FromHours(1) }), clock, NullLogger<OpenDataRefresher>.Instance);

        await refresher.StartAsync(CancellationToken.None);
        await builds[0].Task.WaitAsync(Timeout); // at start
        Assert.False(builds[1].Task.IsCompleted);
        clock.Advance(TimeSpan.FromHours(1));

        await builds[1].Task.WaitAsync(Timeout); // one interval later on the clock, not on the wall
        await refresher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Restart_InfluxDown_ServesTheCopyOnDiskWithTheSameEntityTag()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("opendata-");
        string etag;
        await using (var first = await TestWorker.StartAsync(db, clientId: clientId, overrides: Enabled("7.00:00:00")))
        {
            using var client = first.CreateClient(null);
            await ApiTestKit.PollAsync(client, "/open-data/service-status.json", (status, _) => status == HttpStatusCode.OK);
            etag = (await client.GetAsync("/open-data/service-status.json")).Headers.ETag!.Tag;
        }

        var down = Enabled("7.00:00:00");
        down["Influx:Url"] = $"http://127.0.0.1:{ApiTestKit.ClosedPort().ToString(CultureInfo.InvariantCulture)}";
        await using var second = await TestWorker.StartAsync(db, clientId: clientId, overrides: down);
        using var again = second.CreateClient(null);
        using var response = await again.GetAsync("/open-data/service-status.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(etag, response.Headers.ETag!.Tag);
        await second.Logs.WaitForAsync(e => e.Any(l => l.Level == LogLevel.Warning && l.Message.StartsWith("Open data not rebuilt", StringComparison.Ordinal)), Timeout);
    }

    [Fact]
    public async Task PublicReads_BeyondTheRateLimit_429WithRetryAfter()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var settings = Enabled("7.00:00:00");
        settings["Api:RateLimit:PermitLimit"] = "3";
        settings["Api:RateLimit:Window"] = "00:10:00";
        await using var worker = await TestWorker.StartAsync(db, overrides: settings);
        using var client = worker.CreateClient(null);

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add((await client.GetAsync("/open-data")).StatusCode);
        }

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
    }

    [Theory]
    [InlineData("OpenData:RefreshInterval", "00:00:10")]
    [InlineData("OpenData:MinSensorsPerSchool", "1")]
    [InlineData("OpenData:LampDeviceTypes:0", "camera")]
    public void Start_UnsafeOrInvalidSetting_RefusedNamingIt(string key, string value)
    {
        using var app = SmartCity.Worker.WorkerHost.Build([], builder => Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(builder.Configuration,
            new Dictionary<string, string?> { ["OpenData:Enabled"] = "true", [key] = value }));

        var failures = SmartCity.Telemetry.Diagnostics.ConfigurationCheck.ValidateAll(app.Services);

        Assert.Contains(failures, f => f.StartsWith(key.Replace(":0", "", StringComparison.Ordinal), StringComparison.Ordinal));
    }

    private static Dictionary<string, string?> Enabled(string interval) => new()
    {
        ["OpenData:Enabled"] = "true",
        ["OpenData:RefreshInterval"] = interval,
    };
}

using System.Net;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Api;

/// <summary>The Kubernetes probes: liveness never follows a dependency down, readiness says what /healthz says.</summary>
public sealed class HealthProbeTests
{
    [Fact]
    public async Task HealthProbes_InfluxDown_LiveStays200ReadyAnswers503NamingStorage()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var (started, port) = await ApiTestKit.StartWithInfluxDownAsync(db);
        await using var worker = started;
        using var anonymous = worker.CreateClient(null);

        var ready = await ApiTestKit.PollAsync(anonymous, "/health/ready", (status, body) => status == HttpStatusCode.ServiceUnavailable && body.Contains("InfluxDB", StringComparison.Ordinal));
        var live = await GetAsync(anonymous, "/health/live");

        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal("ok", JsonDocument.Parse(live.Body).RootElement.GetProperty("status").GetString());
        var readyJson = JsonDocument.Parse(ready).RootElement;
        Assert.Equal("degraded", readyJson.GetProperty("status").GetString());
        Assert.Contains(readyJson.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("InfluxDB unavailable", StringComparison.Ordinal));
        // Anonymous callers get reason classes only, as from /healthz.
        Assert.False(readyJson.TryGetProperty("details", out _), ready);
        Assert.DoesNotContain(port, ready, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthProbes_EverythingUp_BothAnswer200()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        using var anonymous = worker.CreateClient(null);

        // Ready once the broker session is up: poll for it rather than guess how long that takes.
        var ready = await ApiTestKit.PollAsync(anonymous, "/health/ready", (status, _) => status == HttpStatusCode.OK);
        var live = await GetAsync(anonymous, "/health/live");

        Assert.Equal("ok", JsonDocument.Parse(ready).RootElement.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.OK, live.Status);
        Assert.Equal("ok", JsonDocument.Parse(live.Body).RootElement.GetProperty("status").GetString());
    }

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(HttpClient client, string path, CancellationToken cancellationToken = default)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
    }
}

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Api;

/// <summary>
/// Who may use the operator API (issue 9): no key or a wrong key is 401, a viewer may read but not
/// act (403), an operator's acknowledgement is recorded under its key's name, an admin may do
/// everything, and a worker without keys starts but keeps the API closed.
/// </summary>
public sealed class ApiAccessTests
{
    private static readonly string[] ProtectedGets =
        ["/api/pipeline", "/api/rejections", "/api/devices", "/api/devices/door-0001", "/api/profiles", "/api/alerts", "/api/alerts/a1", "/api/access"];

    private static readonly string[] ProtectedPosts = ["/api/alerts/a1/acknowledge", "/api/alerts/a1/resolve", "/api/alerts/a1/comments"];

    [Fact]
    public async Task Api_WithoutKeyOrWithWrongKey_401ProblemWithWwwAuthenticate_HealthzStaysAnonymous()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        using var anonymous = worker.CreateClient(null);

        foreach (var path in ProtectedGets)
        {
            using var response = await anonymous.GetAsync(new Uri(path, UriKind.Relative));
            var problem = await ApiTestKit.ProblemAsync(response, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer realm=\"smartcity\"", response.Headers.WwwAuthenticate.ToString());
            Assert.Contains("Authorization: Bearer", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        foreach (var path in ProtectedPosts)
        {
            using var response = await anonymous.PostAsJsonAsync(path, new { comment = "hello" });
            await ApiTestKit.ProblemAsync(response, HttpStatusCode.Unauthorized);
        }

        // A wrong key, in either header, or another scheme: 401 with invalid_token.
        using (var wrong = TestApiKeys.Client(worker.BaseAddress, TestApiKeys.Viewer with { Key = TestApiKeys.Viewer.Key + "x" }))
        using (var response = await wrong.GetAsync(new Uri("/api/pipeline", UriKind.Relative)))
        {
            await ApiTestKit.ProblemAsync(response, HttpStatusCode.Unauthorized);
            Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/pipeline") { Headers = { { "X-Api-Key", "not-a-configured-key-0000" } } })
        using (var response = await anonymous.SendAsync(request))
        {
            await ApiTestKit.ProblemAsync(response, HttpStatusCode.Unauthorized);
        }

        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/pipeline") { Headers = { { "Authorization", "Basic " + TestApiKeys.Viewer.Key } } })
        using (var response = await anonymous.SendAsync(request))
        {
            await ApiTestKit.ProblemAsync(response, HttpStatusCode.Unauthorized);
        }

        // The right key works in either header; health needs none.
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/api/pipeline") { Headers = { { "X-Api-Key", TestApiKeys.Viewer.Key } } })
        using (var response = await anonymous.SendAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var viewer = worker.CreateClient())
        using (var response = await viewer.GetAsync(new Uri("/api/pipeline", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var health = await anonymous.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }
    }

    [Fact]
    public async Task Acknowledge_AsViewer403_AsOperatorRecordedWithItsIdentity_AdminResolves()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var district = TestServers.UniqueName("dz");
        var id = await ApiTestKit.RaiseDoorForcedAsync(worker, district);
        using var viewer = worker.CreateClient(TestApiKeys.Viewer);
        using var @operator = worker.CreateClient(TestApiKeys.Operator);
        using var admin = worker.CreateClient(TestApiKeys.Admin);

        // A viewer sees the alert but may not act on it; nothing is recorded.
        var listed = await viewer.GetFromJsonAsync<JsonElement>($"/api/alerts?district={district}");
        Assert.Equal(id, Assert.Single(listed.EnumerateArray()).GetProperty("id").GetString());
        foreach (var action in new[] { "acknowledge", "resolve", "comments" })
        {
            using var response = await viewer.PostAsJsonAsync($"/api/alerts/{id}/{action}", new { comment = "only looking" });
            var problem = await ApiTestKit.ProblemAsync(response, HttpStatusCode.Forbidden);
            Assert.Contains("vera.viewer", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // Naming someone else in the body is refused, even for an operator.
        using (var response = await @operator.PostAsJsonAsync($"/api/alerts/{id}/acknowledge", new { by = "bob", comment = "as bob" }))
        {
            var problem = await ApiTestKit.ProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.Contains("anna.operator", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        var untouched = await viewer.GetFromJsonAsync<JsonElement>($"/api/alerts/{id}");
        Assert.Equal("raised", untouched.GetProperty("state").GetString(), ignoreCase: true);
        Assert.All(untouched.GetProperty("history").EnumerateArray(), h => Assert.Null(Text(h, "by")));

        // The operator acknowledges and comments: both recorded under the key's name.
        using (var response = await @operator.PostAsJsonAsync($"/api/alerts/{id}/acknowledge", new { comment = "patrol on its way" }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var alert = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("anna.operator", alert.GetProperty("acknowledgedBy").GetString());
        }

        using (var response = await @operator.PostAsJsonAsync($"/api/alerts/{id}/comments", new { comment = "glass broken too" }))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // An admin can do what an operator can.
        using (var response = await admin.PostAsync(new Uri($"/api/alerts/{id}/resolve", UriKind.Relative), null))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var history = (await viewer.GetFromJsonAsync<JsonElement>($"/api/alerts/{id}")).GetProperty("history").EnumerateArray()
            .Select(h => (Kind: Text(h, "kind")!.ToLowerInvariant(), By: Text(h, "by"), Comment: Text(h, "comment")))
            .ToList();
        Assert.Equal(("raised", (string?)null), (history[0].Kind, history[0].By));
        Assert.Contains(("acknowledged", "anna.operator", "patrol on its way"), history);
        Assert.Contains(history, h => h.By == "anna.operator" && h.Comment == "glass broken too");
        Assert.Equal(("resolved", "adam.admin"), (history[^1].Kind, history[^1].By));
    }

    [Fact]
    public async Task AccessEndpoint_AdminSeesNamesAndRolesNeverKeys_OthersForbidden()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);

        using (var admin = worker.CreateClient(TestApiKeys.Admin))
        using (var response = await admin.GetAsync(new Uri("/api/access", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStringAsync();
            var identities = JsonDocument.Parse(body).RootElement.EnumerateArray()
                .Select(e => (e.GetProperty("name").GetString(), e.GetProperty("role").GetString())).ToList();
            Assert.Equal([("vera.viewer", "viewer"), ("anna.operator", "operator"), ("adam.admin", "admin")], identities);
            foreach (var key in new[] { TestApiKeys.Viewer, TestApiKeys.Operator, TestApiKeys.Admin })
            {
                Assert.DoesNotContain(key.Key, body, StringComparison.Ordinal);
                Assert.DoesNotContain(TestApiKeys.Sha256Hex(key.Key), body, StringComparison.OrdinalIgnoreCase);
            }
        }

        foreach (var key in new[] { TestApiKeys.Viewer, TestApiKeys.Operator })
        {
            using var client = worker.CreateClient(key);
            using var response = await client.GetAsync(new Uri("/api/access", UriKind.Relative));
            await ApiTestKit.ProblemAsync(response, HttpStatusCode.Forbidden);
        }
    }

    [Fact]
    public async Task NoKeysConfigured_WorkerStartsWarnsAndEveryApiCallIs401()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var settings = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", clientId);
        foreach (var key in settings.Keys.Where(k => k.StartsWith("Api:", StringComparison.Ordinal)).ToList())
        {
            settings.Remove(key);
        }

        var logs = new LogCapture();
        await using var app = ApiTestKit.Build(settings, logs);
        await app.StartAsync();
        try
        {
            Assert.Contains(logs.Entries, e => e.EventId == 7001 && e.Level == LogLevel.Warning);
            using var formerViewer = TestApiKeys.Client(ApiTestKit.BaseAddress(app), TestApiKeys.Viewer);
            foreach (var path in ProtectedGets)
            {
                using var response = await formerViewer.GetAsync(new Uri(path, UriKind.Relative));
                var problem = await ApiTestKit.ProblemAsync(response, HttpStatusCode.Unauthorized);
                Assert.Contains("no API keys configured", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            }

            using var health = await formerViewer.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.NotEqual(HttpStatusCode.Unauthorized, health.StatusCode);
        }
        finally
        {
            await app.StopAsync();
        }
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value.ToString() : null;
}

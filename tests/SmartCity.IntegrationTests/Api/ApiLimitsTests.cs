using System.Net;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Api;

/// <summary>Rate limits per identity (429 with Retry-After) and CORS: off by default, on for listed origins only.</summary>
public sealed class ApiLimitsTests
{
    private const string Origin = "https://ops.example.org";

    [Fact]
    public async Task RateLimit_PerIdentity_429WithRetryAfter_OthersUnaffected()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Api:RateLimit:PermitLimit"] = "3",
            ["Api:RateLimit:Window"] = "00:10:00",
        });
        using var viewer = worker.CreateClient(TestApiKeys.Viewer);
        using var @operator = worker.CreateClient(TestApiKeys.Operator);
        using var anonymous = worker.CreateClient(null);

        for (var i = 0; i < 3; i++)
        {
            using var ok = await viewer.GetAsync(new Uri("/api/pipeline", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var limited = await viewer.GetAsync(new Uri("/api/alerts", UriKind.Relative)))
        {
            await ApiTestKit.ProblemAsync(limited, HttpStatusCode.TooManyRequests);
            var retryAfter = limited.Headers.RetryAfter?.Delta;
            Assert.NotNull(retryAfter);
            Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10));
        }

        // Another key has its own budget; health checks are never limited.
        using (var ok = await @operator.GetAsync(new Uri("/api/pipeline", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        for (var i = 0; i < 5; i++)
        {
            using var health = await viewer.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        }

        // Unauthenticated callers (a key guesser) are limited by address: 401s, then 429.
        for (var i = 0; i < 3; i++)
        {
            using var refused = await anonymous.GetAsync(new Uri("/api/pipeline", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var limited = await anonymous.GetAsync(new Uri("/api/pipeline", UriKind.Relative)))
        {
            await ApiTestKit.ProblemAsync(limited, HttpStatusCode.TooManyRequests);
            Assert.NotNull(limited.Headers.RetryAfter);
        }
    }

    [Fact]
    public async Task Cors_NotConfigured_NoCorsHeadersAtAll()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        using var viewer = worker.CreateClient(TestApiKeys.Viewer);

        using (var preflight = await viewer.SendAsync(Preflight(Origin)))
        {
            Assert.Empty(CorsHeaders(preflight));
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/pipeline") { Headers = { { "Origin", Origin } } };
        using var response = await viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(CorsHeaders(response));
    }

    [Fact]
    public async Task Cors_OriginListed_AllowedForItOnly()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?> { ["Api:Cors:AllowedOrigins:0"] = Origin });
        using var anonymous = worker.CreateClient(null);

        // A preflight carries no key: it is answered by CORS alone.
        using (var preflight = await anonymous.SendAsync(Preflight(Origin)))
        {
            Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
            Assert.Equal(Origin, Assert.Single(preflight.Headers.GetValues("Access-Control-Allow-Origin")));
            var allowed = string.Join(",", preflight.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
            Assert.Contains("authorization", allowed, StringComparison.Ordinal);
        }

        using (var preflight = await anonymous.SendAsync(Preflight("https://elsewhere.example.net")))
        {
            Assert.Empty(CorsHeaders(preflight));
        }

        using var viewer = worker.CreateClient(TestApiKeys.Viewer);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/pipeline") { Headers = { { "Origin", Origin } } };
        using var response = await viewer.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Origin, Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));

        // CORS never replaces authentication.
        using var unauthenticated = new HttpRequestMessage(HttpMethod.Get, "/api/pipeline") { Headers = { { "Origin", Origin } } };
        using var refused = await anonymous.SendAsync(unauthenticated);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static HttpRequestMessage Preflight(string origin) => new(HttpMethod.Options, "/api/alerts")
    {
        Headers =
        {
            { "Origin", origin },
            { "Access-Control-Request-Method", "GET" },
            { "Access-Control-Request-Headers", "authorization" },
        },
    };

    private static List<string> CorsHeaders(HttpResponseMessage response) =>
        [.. response.Headers.Concat(response.Content.Headers).Select(h => h.Key).Where(k => k.StartsWith("Access-Control-", StringComparison.OrdinalIgnoreCase))];
}

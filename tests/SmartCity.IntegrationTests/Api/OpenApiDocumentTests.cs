using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Api;

/// <summary>The OpenAPI document describes every mapped /api route with its answers and the security scheme.</summary>
public sealed class OpenApiDocumentTests
{
    [Fact]
    public async Task OpenApiDocument_Anonymous_ListsEveryApiRouteWithResponsesAndSecurity()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        using var anonymous = worker.CreateClient(null);

        using var response = await anonymous.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var doc = await response.Content.ReadFromJsonAsync<JsonElement>();

        var schemes = doc.GetProperty("components").GetProperty("securitySchemes");
        Assert.Equal("http", schemes.GetProperty("bearer").GetProperty("type").GetString());
        Assert.Equal("bearer", schemes.GetProperty("bearer").GetProperty("scheme").GetString());
        Assert.Equal("apiKey", schemes.GetProperty("apiKey").GetProperty("type").GetString());
        Assert.Equal("header", schemes.GetProperty("apiKey").GetProperty("in").GetString());
        Assert.Equal("X-Api-Key", schemes.GetProperty("apiKey").GetProperty("name").GetString());

        // What the worker really maps, not a list kept by hand.
        var routes = worker.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText!.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Path: e.RoutePattern.RawText!, Method: m.ToLowerInvariant())))
            .ToList();
        Assert.True(routes.Count >= 11, $"only {routes.Count} /api routes found");

        var paths = doc.GetProperty("paths");
        foreach (var (path, method) in routes)
        {
            Assert.True(paths.TryGetProperty(path, out var item), $"{path} missing from the document");
            Assert.True(item.TryGetProperty(method, out var operation), $"{method} {path} missing from the document");
            Assert.False(string.IsNullOrWhiteSpace(operation.GetProperty("summary").GetString()), $"{method} {path} has no summary");
            Assert.Contains("Requires role:", operation.GetProperty("description").GetString(), StringComparison.Ordinal);
            var responses = operation.GetProperty("responses");
            var expected = new List<string> { "200", "401", "403", "429" };
            if (path.Contains("{id}", StringComparison.Ordinal))
            {
                expected.Add("404");
                Assert.Contains(operation.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "id" && p.GetProperty("in").GetString() == "path");
            }

            if (method == "post")
            {
                expected.AddRange(["400", "409"]);
                Assert.True(operation.TryGetProperty("requestBody", out _), $"{method} {path} has no request body");
            }

            foreach (var code in expected)
            {
                Assert.True(responses.TryGetProperty(code, out _), $"{method} {path} does not document {code}");
            }

            var security = operation.GetProperty("security").EnumerateArray().SelectMany(r => r.EnumerateObject().Select(p => p.Name)).ToList();
            Assert.Equal(["bearer", "apiKey"], security);
        }

        // Query filters are documented, and their 400.
        var alerts = paths.GetProperty("/api/alerts").GetProperty("get");
        Assert.Equal(["state", "sector", "district", "severity"], alerts.GetProperty("parameters").EnumerateArray().Select(p => p.GetProperty("name").GetString()));
        Assert.True(alerts.GetProperty("responses").TryGetProperty("400", out _));
        Assert.Contains("role: operator", paths.GetProperty("/api/alerts/{id}/acknowledge").GetProperty("post").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("role: admin", paths.GetProperty("/api/access").GetProperty("get").GetProperty("description").GetString(), StringComparison.Ordinal);

        // Health stays anonymous in the document too.
        Assert.False(paths.GetProperty("/healthz").GetProperty("get").TryGetProperty("security", out _));
    }
}

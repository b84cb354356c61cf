using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Api;

/// <summary>What the API tells whom: anonymous health without internals, and no request text echoed raw.</summary>
public sealed class ApiDisclosureTests
{
    [Fact]
    public async Task Healthz_InfluxDown_AnonymousSeesReasonClassKeyHolderSeesDetails()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var (started, port) = await ApiTestKit.StartWithInfluxDownAsync(db);
        await using var worker = started;
        using var anonymous = worker.CreateClient(null);
        using var viewer = worker.CreateClient(TestApiKeys.Viewer);

        var anonymousBody = await DegradedHealthAsync(anonymous);
        var viewerBody = await DegradedHealthAsync(viewer);

        Assert.Contains("InfluxDB unavailable", anonymousBody, StringComparison.Ordinal);
        Assert.DoesNotContain(port, anonymousBody, StringComparison.Ordinal);
        Assert.DoesNotContain("127.0.0.1", anonymousBody, StringComparison.Ordinal);
        Assert.False(JsonDocument.Parse(anonymousBody).RootElement.TryGetProperty("details", out _), anonymousBody);
        // Whoever holds a key (any role) gets the server's own words, address included.
        var details = JsonDocument.Parse(viewerBody).RootElement.GetProperty("details");
        Assert.Contains(details.EnumerateArray(), d => d.GetString()!.Contains(port, StringComparison.Ordinal));
    }

    /// <summary>Polls /healthz until it answers 503 (the first failed write) and returns the body.</summary>
    private static Task<string> DegradedHealthAsync(HttpClient client) =>
        ApiTestKit.PollAsync(client, "/healthz", (status, body) => status == HttpStatusCode.ServiceUnavailable && body.Contains("InfluxDB", StringComparison.Ordinal));

    [Fact]
    public async Task NotFound_IdWithCrLfAndLength_TitleFixedAndIdNeverEchoedRaw()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        using var @operator = worker.CreateClient(TestApiKeys.Operator);
        var hostile = "x\r\nX-Injected: yes\r\n\u202Egnp.exe" + new string('A', 5_000);
        var escaped = Uri.EscapeDataString(hostile);

        var answers = new List<(JsonElement Problem, string Title)>();
        foreach (var (path, title) in new[] { ($"/api/alerts/{escaped}", "alert not found"), ($"/api/devices/{escaped}", "device not found") })
        {
            using var response = await @operator.GetAsync(new Uri(path, UriKind.Relative));
            answers.Add((await ApiTestKit.ProblemAsync(response, HttpStatusCode.NotFound), title));
        }

        using (var response = await @operator.PostAsJsonAsync($"/api/alerts/{escaped}/acknowledge", new { comment = "who?" }))
        {
            answers.Add((await ApiTestKit.ProblemAsync(response, HttpStatusCode.NotFound), "alert not found"));
        }

        foreach (var (problem, title) in answers)
        {
            Assert.Equal(title, problem.GetProperty("title").GetString());
            var detail = problem.TryGetProperty("detail", out var d) ? d.GetString()! : "";
            Assert.DoesNotContain(detail, c => char.IsControl(c) || c == '\u202E');
            Assert.DoesNotContain("X-Injected: yes\r", detail, StringComparison.Ordinal);
            Assert.True(detail.Length <= 400, $"detail of {detail.Length} characters");
        }
    }
}

using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Worker;

/// <summary>
/// Anonymous health: /healthz (can messages flow end to end?), and the Kubernetes pair built on ASP.NET Core
/// health checks: /health/live (the process answers) and /health/ready (the same problems as /healthz).
/// </summary>
public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    /// <summary>One problem: a class anyone may see, and in full (server messages, internal addresses, paths) for API key holders.</summary>
    public readonly record struct HealthProblem(string Summary, string Detail);

    /// <summary>The readiness check; liveness has none, so no outage of the broker or InfluxDB ever restarts the worker.</summary>
    public static IServiceCollection AddWorkerHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks().AddCheck<ReadinessCheck>("pipeline", tags: [ReadyTag]);
        return services;
    }

    public static void MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        // A lambda, not a method group: a method group would name the endpoint (and the OpenAPI operation) after the method.
        app.MapGet("/healthz", (HttpContext http, PipelineMetrics metrics, DiskHealth disk) => Healthz(http, metrics, disk))
            .AllowAnonymous()
            .WithTags("health")
            .WithSummary("Health: can messages flow end to end?")
            .WithDescription("200 {status: ok}, or 503 {status: degraded, problems: [...]}: broker not connected, InfluxDB refusing or down, spool full. Anonymous; "
                + "problems are classes without detail, and a caller with an API key (any role) also gets details: [...] with server messages, addresses and paths.")
            .Produces(StatusCodes.Status200OK)
            .Produces(StatusCodes.Status503ServiceUnavailable);

        // Liveness runs no check at all: it answers as long as the process serves requests.
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync }).AllowAnonymous();
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = c => c.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync }).AllowAnonymous();
    }

    /// <summary>What keeps messages from flowing end to end: the one computation behind /healthz and /health/ready.</summary>
    public static IReadOnlyList<HealthProblem> Problems(PipelineMetrics metrics, DiskHealth disk)
    {
        var s = metrics.Snapshot();
        var problems = new List<HealthProblem>();
        if (!s.SourceConnected)
        {
            problems.Add(new("not connected to the MQTT broker", "not connected to the MQTT broker"));
        }

        if (s.SinkBlocked)
        {
            problems.Add(new(metrics.SinkBlockedSummary!, s.SinkBlockedReason!));
        }

        if (s.SpoolFull)
        {
            problems.Add(new("spool full: intake paused until storage catches up", $"spool full ({s.SpoolBytes} bytes): intake paused until storage catches up"));
        }

        problems.AddRange(disk.Problems.Select(p => new HealthProblem($"{p.Component}: cannot write to disk", $"{p.Component}: {p.Error} at {p.Path} since {p.Since:O}")));
        return problems;
    }

    private static IResult Healthz(HttpContext http, PipelineMetrics metrics, DiskHealth disk)
    {
        var problems = Problems(metrics, disk);
        if (problems.Count == 0)
        {
            return Results.Ok(new { status = "ok" });
        }

        var summaries = problems.Select(p => p.Summary).ToList();
        return http.User.Identity?.IsAuthenticated == true
            ? Results.Json(new { status = "degraded", problems = summaries, details = problems.Select(p => p.Detail).ToList() }, statusCode: StatusCodes.Status503ServiceUnavailable)
            : Results.Json(new { status = "degraded", problems = summaries }, statusCode: StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>The JSON body of /health/live and /health/ready, disclosing like /healthz: classes to anyone, details to key holders.</summary>
    private static Task WriteAsync(HttpContext http, HealthReport report)
    {
        var problems = report.Entries.Values.SelectMany(e => e.Data.TryGetValue("problems", out var p) ? (IReadOnlyList<HealthProblem>)p : []).ToList();
        var status = report.Status == HealthStatus.Healthy ? "ok" : "degraded";
        object body = problems.Count == 0
            ? new { status }
            : http.User.Identity?.IsAuthenticated == true
                ? new { status, problems = problems.Select(p => p.Summary), details = problems.Select(p => p.Detail) }
                : new { status, problems = problems.Select(p => p.Summary) };
        return http.Response.WriteAsJsonAsync(body, body.GetType(), http.RequestAborted);
    }

    /// <summary>Ready when /healthz would answer 200: broker connected, storage writing, spool and disk not full.</summary>
    private sealed class ReadinessCheck(PipelineMetrics metrics, DiskHealth disk) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var problems = Problems(metrics, disk);
            return Task.FromResult(problems.Count == 0
                ? HealthCheckResult.Healthy()
                : HealthCheckResult.Unhealthy(string.Join("; ", problems.Select(p => p.Summary)), data: new Dictionary<string, object> { ["problems"] = problems }));
        }
    }
}

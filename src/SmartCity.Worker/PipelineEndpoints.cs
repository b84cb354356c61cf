using SmartCity.Telemetry.Pipeline;

namespace SmartCity.Worker;

/// <summary>Read-only endpoints for operators and integrators: health, counters, recent rejections.</summary>
public static class PipelineEndpoints
{
    public static void MapPipelineEndpoints(this IEndpointRouteBuilder app)
    {
        // 200 when messages can flow end to end; 503 with the reason otherwise (for load balancers and compose health checks).
        app.MapGet("/healthz", (PipelineMetrics metrics) =>
        {
            var s = metrics.Snapshot();
            var problems = new List<string>();
            if (!s.SourceConnected)
            {
                problems.Add("not connected to the MQTT broker");
            }

            if (s.SinkBlocked)
            {
                problems.Add(s.SinkBlockedReason!);
            }

            if (s.SpoolFull)
            {
                problems.Add($"spool full ({s.SpoolBytes} bytes): intake paused until storage catches up");
            }

            return problems.Count == 0
                ? Results.Ok(new { status = "ok" })
                : Results.Json(new { status = "degraded", problems }, statusCode: StatusCodes.Status503ServiceUnavailable);
        });

        app.MapGet("/api/pipeline", (PipelineMetrics metrics) => Results.Ok(metrics.Snapshot()));

        app.MapGet("/api/rejections", (DeadLetters deadLetters, int? limit) =>
        {
            if (limit is < 1 or > 200)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "limit must be between 1 and 200");
            }

            return Results.Ok(deadLetters.Recent().Take(limit ?? 50));
        });
    }
}

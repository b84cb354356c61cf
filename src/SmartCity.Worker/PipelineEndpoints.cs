using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
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

        app.MapGet("/api/devices", (DeviceRegistry registry, string? status) => status switch
        {
            null => Results.Ok(registry.Devices),
            "online" => Results.Ok(registry.Devices.Where(d => d.Online)),
            "offline" => Results.Ok(registry.Devices.Where(d => !d.Online)),
            "quarantined" => Results.Ok(registry.Quarantined),
            _ => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "status must be online, offline or quarantined"),
        });

        app.MapGet("/api/devices/{id}", (DeviceRegistry registry, string id) =>
            registry.Find(id) is { } device ? Results.Ok(device) : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"no device '{id}' has announced itself"));

        app.MapGet("/api/profiles", (ProfileSet profiles) => Results.Ok(new
        {
            loaded = profiles.Profiles.Select(p => new { p.Id, p.Version, p.Sector, p.DeviceType, p.Source, messages = p.Messages.Keys }),
            refused = profiles.Errors.Select(e => new { e.Source, e.Problems }),
        }));
    }
}

using SmartCity.Telemetry.Buffering;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using SmartCity.Worker.Security;

namespace SmartCity.Worker;

/// <summary>Health (anonymous, HealthEndpoints) and read-only endpoints for operators and integrators: counters, rejections, devices, profiles.</summary>
public static class PipelineEndpoints
{
    /// <summary>Everything under /api: at least a viewer key, rate limited per identity.</summary>
    public static RouteGroupBuilder MapApiGroup(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api").RequireAuthorization(ApiRoles.Viewer).RequireRateLimiting(ApiSecurity.RateLimitPolicy);

    public static void MapPipelineEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapHealthEndpoints();
        var api = app.MapApiGroup();
        MapCounters(api);
        MapDevices(api);
        MapAccess(api);
    }

    /// <summary>Counters and the latest rejections.</summary>
    private static void MapCounters(RouteGroupBuilder api)
    {
        api.MapGet("/pipeline", (PipelineMetrics metrics) => Results.Ok(metrics.Snapshot()))
            .WithTags("pipeline")
            .WithSummary("Pipeline counters")
            .WithDescription("Received, accepted, rejected by reason, ignored, points written, dead letters, acknowledged, write failures, reconnects, spool depth.")
            .Produces<PipelineSnapshot>();

        api.MapGet("/rejections", (DeadLetters deadLetters, int? limit, HttpContext context) =>
        {
            if (limit is < 1 or > 200)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "limit must be between 1 and 200");
            }

            var scope = ApiScope.Of(context);
            return Results.Ok(deadLetters.Recent().Where(scope.Sees).Take(limit ?? 50));
        })
            .WithTags("pipeline")
            .WithSummary("Latest rejected messages")
            .WithDescription("Newest first: reason, detail, topic and a payload excerpt. limit: 1..200, default 50.")
            .Produces<IEnumerable<Rejection>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);
    }

    /// <summary>Devices known to the registry and the profiles in force.</summary>
    private static void MapDevices(RouteGroupBuilder api)
    {
        api.MapGet("/devices", (DeviceRegistry registry, string? status, HttpContext context) => ApiScope.Of(context) switch
        {
            var scope when status is null => Results.Ok(registry.Devices.Where(scope.Sees)),
            var scope when status == "online" => Results.Ok(registry.Devices.Where(d => d.Online && scope.Sees(d))),
            var scope when status == "offline" => Results.Ok(registry.Devices.Where(d => !d.Online && scope.Sees(d))),
            var scope when status == "quarantined" => Results.Ok(registry.Quarantined.Where(scope.Sees)),
            _ => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "status must be online, offline or quarantined"),
        })
            .WithTags("devices")
            .WithSummary("Devices with status and last seen")
            .WithDescription("Registered devices (profile, firmware, location, online, last seen); status=online|offline filters them. "
                + "status=quarantined lists instead the devices that sent telemetry without announcing themselves (deviceId, deviceType, lastTopic, messages, firstSeen, lastSeen).")
            .Produces<IEnumerable<DeviceRecord>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("/devices/{id}", (DeviceRegistry registry, string id, HttpContext context) =>
            registry.Find(id) is { } device && ApiScope.Of(context).Sees(device) ? Results.Ok(device) : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "device not found", detail: $"no device '{ApiText.Sanitize(id)}' has announced itself"))
            .WithTags("devices")
            .WithSummary("One device")
            .Produces<DeviceRecord>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/profiles", (ProfileSet profiles) => Results.Ok(new
        {
            loaded = profiles.Profiles.Select(p => new { p.Id, p.Version, p.Sector, p.DeviceType, p.Source, messages = p.Messages.Keys }),
            refused = profiles.Errors.Select(e => new { e.Source, e.Problems }),
        }))
            .WithTags("devices")
            .WithSummary("Device profiles in force, and refused profile files")
            .WithDescription("loaded: id, version, sector, device type, source, messages; refused: file and every problem (line, property).")
            .Produces(StatusCodes.Status200OK, contentType: "application/json");
    }

    /// <summary>Admin: who can use this API. Names and roles only; keys and their hashes never leave the worker.</summary>
    private static void MapAccess(RouteGroupBuilder api) =>
        api.MapGet("/access", (ApiKeyStore keys) => Results.Ok(keys.Identities.Select(k => new ApiIdentity(k.Name, k.Role))))
            .RequireAuthorization(ApiRoles.Admin)
            .WithTags("access")
            .WithSummary("Configured API keys: names and roles")
            .WithDescription("For an administrator checking who has access. Never shows a key or its hash.")
            .Produces<IEnumerable<ApiIdentity>>();

    public sealed record ApiIdentity(string Name, string Role);
}

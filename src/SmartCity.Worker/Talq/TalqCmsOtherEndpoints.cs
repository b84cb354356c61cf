using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartCity.Worker.Talq;

/// <summary>
/// POST /services, and an answer the spec declares for every other CMS operation: this CMS keeps no asset
/// types, groups, data packages or logger configurations of its own, so their lists are empty (200 []),
/// their counts 0, one of them is not found (404), and a write is refused with 422 genericError saying so.
/// Never a 500, never an undeclared status: a gateway that tries them learns what is supported.
/// </summary>
public static class TalqCmsOtherEndpoints
{
    /// <summary>The CMS API's resources we do not keep (paths of talq-api-cms-2-7-1-online.json).</summary>
    public static readonly IReadOnlySet<string> NotKept = new HashSet<string>(StringComparer.Ordinal)
    {
        "bracket-types", "controller-types", "data-packages", "driver-types", "groups", "lamp-types",
        "logger-configs", "luminaire-types", "control-device-dali-part103-types", "control-gear-dali-part102-types",
        "luminaire-data-dali-part251-types", "energy-data-dali-part252-types", "diagnostics-and-maintenance-data-dali-part253-types",
        "luminaire-mounted-control-device-dali-part351-types",
    };

    public static void Map(RouteGroupBuilder talq)
    {
        talq.MapPost("/services", ServicesAsync);
        talq.Map("/{**rest}", Other);
    }

    /// <summary>POST /services: a Service[] (each with its name); kept per gateway, replacing what it sent before.</summary>
    private static async Task<IResult> ServicesAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress)
    {
        var (gateway, body, refused) = await TalqCmsEndpoints.AdmitAsync(context, map).ConfigureAwait(false);
        refused ??= body.ValueKind != JsonValueKind.Array || body.EnumerateArray().Any(s => s.ValueKind != JsonValueKind.Object || !s.TryGetProperty("name", out var n) || n.ValueKind != JsonValueKind.String)
            ? TalqError.Payload("the body must be an array of Service, each with its 'name'")
            : null;
        refused ??= await ingress.ServicesAsync(gateway!, JsonSerializer.Deserialize<JsonArray>(body)!, context.RequestAborted).ConfigureAwait(false);
        return refused is not null ? TalqCmsEndpoints.Refuse(context, ingress, refused) : Results.StatusCode(StatusCodes.Status201Created);
    }

    private static IResult Other(HttpContext context, TalqGatewayMap map, TalqIngress ingress, string? rest)
    {
        var read = HttpMethods.IsGet(context.Request.Method);
        var (_, refused) = TalqCmsEndpoints.Identify(context, map, write: !read);
        var path = (rest ?? "").Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (refused is not null)
        {
            return TalqCmsEndpoints.Refuse(context, ingress, refused);
        }

        if (path.Length is < 1 or > 2 || !NotKept.Contains(path[0]))
        {
            return ingress.Refuse(new TalqError(StatusCodes.Status404NotFound, "resourceNotFound", $"no TALQ operation {context.Request.Method} /{TalqError.Clip(rest ?? "")} in this CMS"));
        }

        return (read, path) switch
        {
            (true, [_]) => Results.Json(Array.Empty<object>()),
            (true, [_, "count"]) => Results.Json(0),
            (true, [var kind, _]) => ingress.Refuse(new TalqError(StatusCodes.Status404NotFound, "resourceNotFound", $"this CMS keeps no {kind}")),
            _ => ingress.Refuse(new TalqError(StatusCodes.Status422UnprocessableEntity, "genericError", $"this CMS does not keep {path[0]} (docs/integrations/talq.md lists what it supports)")),
        };
    }
}

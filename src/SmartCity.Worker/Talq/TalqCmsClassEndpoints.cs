using System.Text.Json;
using System.Text.Json.Nodes;

namespace SmartCity.Worker.Talq;

/// <summary>
/// The gateway's device classes (POST and PUT /device-classes, PUT and DELETE /device-classes/{className}):
/// kept per gateway, as sent, in the CMS state file. A gateway announces them before its devices; we do not
/// require a device's class to be known (gateways that skip classes keep working), but a class one of the
/// gateway's devices names cannot be deleted (422 deletingResourceIsReferred).
/// </summary>
public static class TalqCmsClassEndpoints
{
    public static void Map(RouteGroupBuilder talq)
    {
        talq.MapPost("/device-classes", (HttpContext c, TalqGatewayMap map, TalqIngress ingress) => ListAsync(c, map, ingress, create: true));
        talq.MapPut("/device-classes", (HttpContext c, TalqGatewayMap map, TalqIngress ingress) => ListAsync(c, map, ingress, create: false));
        talq.MapPut("/device-classes/{className}", PutOneAsync);
        talq.MapDelete("/device-classes/{className}", DeleteAsync);
    }

    /// <summary>POST: new classes (a known name is 409); PUT: known classes replaced (an unknown name is 404). All or none.</summary>
    private static async Task<IResult> ListAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress, bool create)
    {
        var (gateway, body, refused) = await TalqCmsEndpoints.AdmitAsync(context, map).ConfigureAwait(false);
        var (classes, error) = refused is null ? Parse(body) : (null, refused);
        error ??= await ingress.ClassesAsync(gateway!, kept =>
        {
            foreach (var (name, definition) in classes!)
            {
                if (kept.ContainsKey(name) == create)
                {
                    return create ? new TalqError(StatusCodes.Status409Conflict, "resourceConflict", $"device class '{name}' exists")
                        : new TalqError(StatusCodes.Status404NotFound, "resourceNotFound", $"no device class '{name}' of this gateway");
                }

                kept[name] = definition;
            }

            return null;
        }, context.RequestAborted).ConfigureAwait(false);
        return error is not null ? TalqCmsEndpoints.Refuse(context, ingress, error)
            : Results.Json(body, statusCode: create ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    /// <summary>PUT one class: created or replaced (the spec declares no 404 here); its name must be the path's.</summary>
    private static async Task<IResult> PutOneAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress, string className)
    {
        var (gateway, body, refused) = await TalqCmsEndpoints.AdmitAsync(context, map).ConfigureAwait(false);
        var (classes, error) = refused is null ? Parse(body, single: true) : (null, refused);
        error ??= classes!.ContainsKey(className) ? null
            : new TalqError(StatusCodes.Status400BadRequest, "parameterValueNotValid", $"the body's name differs from className '{TalqError.Clip(className)}'");
        error ??= await ingress.ClassesAsync(gateway!, kept => { kept[className] = classes![className]; return null; }, context.RequestAborted).ConfigureAwait(false);
        return error is not null ? TalqCmsEndpoints.Refuse(context, ingress, error) : Results.Json(body);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress, string className)
    {
        var (gateway, refused) = TalqCmsEndpoints.Identify(context, map, write: true);
        JsonObject? deleted = null;
        refused ??= await ingress.ClassesAsync(gateway!, kept => kept.Remove(className, out deleted) ? null
            : new TalqError(StatusCodes.Status404NotFound, "resourceNotFound", $"no device class '{TalqError.Clip(className)}' of this gateway"), context.RequestAborted).ConfigureAwait(false);
        return refused is not null ? TalqCmsEndpoints.Refuse(context, ingress, refused) : Results.Json(deleted);
    }

    /// <summary>DeviceClass[] (or one DeviceClass): each with a unique 'name', its functions each with 'functionId' and 'type'.</summary>
    private static (Dictionary<string, JsonObject>? Classes, TalqError? Error) Parse(JsonElement body, bool single = false)
    {
        var items = single ? [body] : body.ValueKind == JsonValueKind.Array ? body.EnumerateArray().ToList() : null;
        if (items is null)
        {
            return (null, TalqError.Payload("the body must be an array of DeviceClass"));
        }

        var classes = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        foreach (var item in items)
        {
            var valid = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                && (!item.TryGetProperty("functions", out var functions) || (functions.ValueKind == JsonValueKind.Array && functions.EnumerateArray().All(IsFunctionDesc)));
            if (!valid || !classes.TryAdd(item.GetProperty("name").GetString()!, (JsonObject)JsonNode.Parse(item.GetRawText())!))
            {
                return (null, TalqError.Payload("a DeviceClass needs a unique 'name'; its 'functions' each a 'functionId' and a 'type' (strings)"));
            }
        }

        return (classes, null);
    }

    private static bool IsFunctionDesc(JsonElement f) =>
        f.ValueKind == JsonValueKind.Object
        && f.TryGetProperty("functionId", out var id) && id.ValueKind == JsonValueKind.String
        && f.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String;
}

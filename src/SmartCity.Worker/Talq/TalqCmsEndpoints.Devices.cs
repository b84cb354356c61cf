using System.Globalization;
using System.Text.Json.Nodes;

namespace SmartCity.Worker.Talq;

/// <summary>The device operations beyond announcing: list and read (with last values), PATCH, PUT and DELETE one.</summary>
public static partial class TalqCmsEndpoints
{
    /// <summary>Devices per page when a gateway pages with only an offset (the spec's "CMS default limit").</summary>
    public const int DefaultPageLimit = 500;

    private static void MapDeviceEndpoints(RouteGroupBuilder talq)
    {
        talq.MapGet("/devices", ListDevices);
        talq.MapPatch("/devices", (HttpContext c, TalqGatewayMap map, TalqIngress ingress) => PatchAsync(c, map, ingress, null));
        talq.MapGet("/devices/{deviceAddress}", (HttpContext c, TalqGatewayMap map, TalqIngress ingress, string deviceAddress) =>
            Read(c, map, ingress, deviceAddress, d => TalqDeviceViews.Device(d)));
        talq.MapPut("/devices/{deviceAddress}", ReplaceAsync);
        talq.MapPatch("/devices/{deviceAddress}", (HttpContext c, TalqGatewayMap map, TalqIngress ingress, string deviceAddress) => PatchAsync(c, map, ingress, deviceAddress));
        talq.MapDelete("/devices/{deviceAddress}", DeleteAsync);
        talq.MapGet("/devices/{deviceAddress}/{functionId}", (HttpContext c, TalqGatewayMap map, TalqIngress ingress, string deviceAddress, string functionId, string? attributeScope) =>
            Read(c, map, ingress, deviceAddress, d => TalqDeviceViews.Function(d, functionId, attributeScope?.ToLowerInvariant()),
                attributeScope is null || TalqAttributeScopes.Scopes.Contains(attributeScope.ToLowerInvariant())
                    ? null
                    : new TalqError(StatusCodes.Status400BadRequest, "parameterValueNotValid", "attributeScope must be " + string.Join(", ", TalqAttributeScopes.Scopes))));
        talq.MapGet("/devices/{deviceAddress}/{functionId}/{attributeName}", (HttpContext c, TalqGatewayMap map, TalqIngress ingress, string deviceAddress, string functionId, string attributeName) =>
            Read(c, map, ingress, deviceAddress, d => TalqDeviceViews.Attribute(d, functionId, attributeName)));
    }

    /// <summary>GET /devices: the caller's devices (optionally of some classes), paged when offset or limit is given.</summary>
    private static IResult ListDevices(HttpContext context, TalqGatewayMap map, TalqIngress ingress, TalqDeviceStore store)
    {
        var (gateway, refused) = Identify(context, map, write: false);
        var query = context.Request.Query;
        var classes = query["deviceClasses"].SelectMany(c => (c ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToHashSet(StringComparer.Ordinal);
        var paged = query.ContainsKey("offset") || query.ContainsKey("limit");
        var offset = 0;
        var limit = DefaultPageLimit;
        refused ??= (query.ContainsKey("offset") && !int.TryParse(query["offset"], NumberStyles.None, CultureInfo.InvariantCulture, out offset))
            || (query.ContainsKey("limit") && (!int.TryParse(query["limit"], NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1))
            ? new TalqError(StatusCodes.Status400BadRequest, "parameterValueNotValid", "offset must be an integer >= 0 and limit one >= 1")
            : null;
        if (refused is not null)
        {
            return Refuse(context, ingress, refused);
        }

        var devices = store.OwnedBy(gateway!.Address).Select(p => TalqDeviceViews.Device(p.Device))
            .Where(d => classes.Count == 0 || classes.Contains(d["class"]?.GetValue<string>() ?? "")).ToList();
        if (!paged)
        {
            return Results.Json(devices);
        }

        var page = devices.Skip(offset).Take(limit).ToList();
        var headers = context.Response.Headers;
        headers["pagination-count"] = page.Count.ToString(CultureInfo.InvariantCulture);
        headers["pagination-offset"] = offset.ToString(CultureInfo.InvariantCulture);
        headers["pagination-totalCount"] = devices.Count.ToString(CultureInfo.InvariantCulture);
        headers["pagination-defaultLimit"] = DefaultPageLimit.ToString(CultureInfo.InvariantCulture);
        return Results.Json(page);
    }

    /// <summary>A GET of one device, function or attribute of the caller's: 404 when it (or the part asked) does not exist.</summary>
    /// <param name="invalid">What is wrong with the query, answered once the gateway is known (an unknown caller gets 401 first).</param>
    private static IResult Read(HttpContext context, TalqGatewayMap map, TalqIngress ingress, string deviceAddress, Func<TalqStoredDevice, JsonObject?> part, TalqError? invalid = null)
    {
        var (gateway, refused) = Identify(context, map, write: false);
        refused ??= invalid;
        var address = Guid.Empty;
        refused ??= Guid.TryParse(deviceAddress, out address) ? null : BadAddress(deviceAddress);
        if (refused is not null)
        {
            return Refuse(context, ingress, refused);
        }

        return ingress.Own(gateway!, address) is { } stored && part(stored) is { } found
            ? Results.Json(found)
            : ingress.Refuse(new TalqError(StatusCodes.Status404NotFound, "resourceNotFound", $"no such device {address} of this gateway, or no such function or attribute"));
    }

    private static async Task<IResult> ReplaceAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress, string deviceAddress)
    {
        var (gateway, body, refused) = await AdmitAsync(context, map).ConfigureAwait(false);
        var (device, error) = refused is null ? TalqPayloads.ParseDevice(body) : (null, refused);
        error ??= Guid.TryParse(deviceAddress, out var path) && device!.Address == path ? null : BadAddress(deviceAddress, "the body's address differs from ");
        error ??= await ingress.ReplaceAsync(gateway!, device!, context.RequestAborted).ConfigureAwait(false);
        return error is not null ? Refuse(context, ingress, error) : Results.Json(body, statusCode: StatusCodes.Status200OK);
    }

    /// <summary>PATCH /devices (a Device[]), or /devices/{deviceAddress} (one Device) when <paramref name="deviceAddress"/> is set.</summary>
    private static async Task<IResult> PatchAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress, string? deviceAddress)
    {
        var (gateway, body, refused) = await AdmitAsync(context, map).ConfigureAwait(false);
        IReadOnlyList<TalqDevice>? devices = null;
        if (refused is null && deviceAddress is null)
        {
            (devices, refused) = TalqPayloads.ParseDevices(body);
        }
        else if (refused is null)
        {
            var (one, error) = TalqPayloads.ParseDevice(body);
            refused = error ?? (Guid.TryParse(deviceAddress, out var path) && one!.Address == path ? null : BadAddress(deviceAddress!, "the body's address differs from "));
            devices = one is null ? null : [one];
        }

        refused ??= await ingress.PatchAsync(gateway!, devices!, context.RequestAborted).ConfigureAwait(false);
        return refused is not null ? Refuse(context, ingress, refused) : Results.StatusCode(StatusCodes.Status200OK);
    }

    private static async Task<IResult> DeleteAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress, string deviceAddress)
    {
        var (gateway, refused) = Identify(context, map, write: true);
        var address = Guid.Empty;
        refused ??= Guid.TryParse(deviceAddress, out address) ? null : BadAddress(deviceAddress);
        if (refused is not null)
        {
            return Refuse(context, ingress, refused);
        }

        var (deleted, error) = await ingress.DeleteAsync(gateway!, address, context.RequestAborted).ConfigureAwait(false);
        return error is not null ? Refuse(context, ingress, error) : Results.Json(deleted);
    }

    private static TalqError BadAddress(string deviceAddress, string prefix = "") =>
        new(StatusCodes.Status400BadRequest, "parameterValueNotValid", $"{prefix}deviceAddress '{TalqError.Clip(deviceAddress)}' (a uuid)");
}

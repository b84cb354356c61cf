using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.Worker.Talq;

/// <summary>
/// The TALQ 2.7.1 CMS API a gateway calls (docs/integrations/talq.md), under <c>/talq</c>: POST, PUT, PATCH
/// and GET <c>/devices</c> (and one device, its functions and attributes, DELETE), POST <c>/log-reports</c>
/// and <c>/services</c>, the gateway's <c>/device-classes</c>; every other operation of the spec gets one of its declared answers
/// (<see cref="TalqCmsOtherEndpoints"/>). The operator API's keys do not apply here: each gateway
/// authenticates with its own HTTP Basic credentials from the mapping file (over the worker's TLS) and its
/// <c>clientAddress</c> must be its own address.
/// </summary>
public static partial class TalqCmsEndpoints
{
    public const string SectionName = "Talq";

    public static IServiceCollection AddTalqCms(this IServiceCollection services, IConfiguration configuration)
    {
        // Read when first needed, not now: settings added after this call (tests, secret files) must count.
        var loaded = new Lazy<(TalqGatewayMap Map, IReadOnlyList<string> Problems)>(() => TalqGatewayMap.Load(configuration[$"{SectionName}:MappingFile"]));
        services.AddSingleton(_ => loaded.Value.Map);
        services.AddSingleton(_ => new TalqDeviceStore(TalqDeviceStore.ResolvePath(configuration)));
        services.AddSingleton(sp => sp.GetRequiredService<TalqDeviceStore>().Owners);
        services.AddSingleton<TalqIngress>();
        services.AddSingleton<TalqGatewayClients>();
        // Lamps announced by a gateway are commanded through it; the rest over MQTT as before.
        services.AddSingleton<MqttCommandChannel>();
        services.Replace(ServiceDescriptor.Singleton<ICommandChannel, TalqCommandChannel>());
        TalqGatewayOptions.AddTalqGatewaySync(services, configuration);
        services.AddHostedService<TalqStateSaver>();
        services.AddSingleton(new ConfigurationCheck(_ => loaded.Value.Problems));
        services.AddSingleton(new ConfigurationCheck(sp => sp.GetRequiredService<TalqDeviceStore>().Problem is { } problem ? [problem] : []));
        return services;
    }

    public static void MapTalqCmsEndpoints(this IEndpointRouteBuilder app)
    {
        var talq = app.MapGroup("/talq").AllowAnonymous().ExcludeFromDescription();
        talq.MapPost("/devices", (HttpContext c, TalqGatewayMap map, TalqIngress ingress) => DevicesAsync(c, map, ingress, create: true));
        talq.MapPut("/devices", (HttpContext c, TalqGatewayMap map, TalqIngress ingress) => DevicesAsync(c, map, ingress, create: false));
        talq.MapPost("/log-reports", LogReportAsync);
        MapDeviceEndpoints(talq);
        TalqCmsClassEndpoints.Map(talq);
        TalqCmsOtherEndpoints.Map(talq);
    }

    private static async Task<IResult> DevicesAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress, bool create)
    {
        var (gateway, body, refused) = await AdmitAsync(context, map).ConfigureAwait(false);
        if (refused is not null)
        {
            return Refuse(context, ingress, refused);
        }

        var (devices, error) = TalqPayloads.ParseDevices(body);
        error ??= await ingress.AnnounceAsync(gateway!, devices!, create, context.RequestAborted).ConfigureAwait(false);
        return error is not null
            ? ingress.Refuse(error)
            : Results.Json(body, statusCode: create ? StatusCodes.Status201Created : StatusCodes.Status200OK);
    }

    private static async Task<IResult> LogReportAsync(HttpContext context, TalqGatewayMap map, TalqIngress ingress)
    {
        var (gateway, body, refused) = await AdmitAsync(context, map).ConfigureAwait(false);
        if (refused is not null)
        {
            return Refuse(context, ingress, refused);
        }

        var (report, error) = TalqPayloads.ParseLogReport(body);
        error ??= await ingress.ReportAsync(gateway!, report!, context.RequestAborted).ConfigureAwait(false);
        return error is not null ? ingress.Refuse(error) : Results.StatusCode(StatusCodes.Status201Created);
    }

    /// <summary>A refusal: 401 is HTTP Basic's (no TALQ body), the others the spec's error, counted.</summary>
    internal static IResult Refuse(HttpContext context, TalqIngress ingress, TalqError refused)
    {
        if (refused.Status != StatusCodes.Status401Unauthorized)
        {
            return ingress.Refuse(refused);
        }

        context.Response.Headers.WWWAuthenticate = "Basic realm=\"talq\", charset=\"UTF-8\"";
        return Results.StatusCode(StatusCodes.Status401Unauthorized);
    }

    /// <summary>
    /// Who calls (Basic credentials), the TALQ header and query parameters: every operation needs
    /// talq-api-version and clientAddress; those that change something (<paramref name="write"/>) also a talqRequestId.
    /// </summary>
    internal static (TalqGateway? Gateway, TalqError? Refused) Identify(HttpContext context, TalqGatewayMap map, bool write)
    {
        var gateway = Authenticate(context.Request.Headers.Authorization.ToString(), map);
        if (gateway is null)
        {
            return (null, new TalqError(StatusCodes.Status401Unauthorized, "unauthorized", ""));
        }

        var query = context.Request.Query;
        TalqError? refused = context.Request.Headers["talq-api-version"].ToString() is { Length: > 0 } ? null
            : new TalqError(StatusCodes.Status400BadRequest, "headerMissing", "the talq-api-version header is required");
        refused ??= query["clientAddress"].ToString() is not { Length: > 0 } client ? new TalqError(StatusCodes.Status400BadRequest, "parameterMissing", "clientAddress is required")
            : !Guid.TryParse(client, out var address) || address != gateway.Address ? new TalqError(StatusCodes.Status400BadRequest, "parameterValueNotValid", "clientAddress is not this gateway's address")
            : null;
        refused ??= write && !Guid.TryParse(query["talqRequestId"].ToString(), out _) ? new TalqError(StatusCodes.Status400BadRequest, "parameterMissing", "talqRequestId (a uuid) is required") : null;
        return (gateway, refused);
    }

    /// <summary>A write: the caller (<see cref="Identify"/>), then the JSON body.</summary>
    internal static async Task<(TalqGateway? Gateway, JsonElement Body, TalqError? Refused)> AdmitAsync(HttpContext context, TalqGatewayMap map)
    {
        var (gateway, refused) = Identify(context, map, write: true);
        if (refused is not null)
        {
            return (gateway, default, refused);
        }

        try
        {
            using var doc = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted).ConfigureAwait(false);
            return (gateway, doc.RootElement.Clone(), null);
        }
        catch (JsonException ex)
        {
            return (gateway, default, TalqError.Payload("the body is not JSON: " + ex.Message));
        }
    }

    private static TalqGateway? Authenticate(string header, TalqGatewayMap map)
    {
        const string Basic = "Basic ";
        if (!header.StartsWith(Basic, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(header[Basic.Length..].Trim()));
        }
        catch (FormatException)
        {
            return null;
        }

        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && map.FindByUsername(decoded[..colon]) is { } gateway && gateway.Accepts(decoded[(colon + 1)..]) ? gateway : null;
    }
}

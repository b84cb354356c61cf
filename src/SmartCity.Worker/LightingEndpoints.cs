using System.Globalization;
using System.Security.Claims;
using SmartCity.Telemetry.Lighting;
using SmartCity.Worker.Security;

namespace SmartCity.Worker;

/// <summary>Lighting control: commands (operator), their history, the schedules in force, the energy saved (docs/lighting-control.md).</summary>
public static class LightingEndpoints
{
    /// <summary>A command as an operator sends it; who sends it is the API key's name.</summary>
    public sealed record CommandBody(string? TargetKind, string? Target, bool? On, double? DimPct, string? Reason, string? By = null, double? DurationMinutes = null);

    public static void MapLightingEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapApiGroup().WithTags("lighting");

        api.MapPost("/lighting/commands", async (LightingService lighting, ClaimsPrincipal user, CommandBody body, HttpContext context) =>
        {
            if (body.By is not null)
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "'by' is not accepted", detail: "Commands are recorded under the API key's name.");
            }

            if (!Enum.TryParse<TargetKind>(body.TargetKind, ignoreCase: true, out var kind) || !Enum.IsDefined(kind) || int.TryParse(body.TargetKind, out _))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "targetKind must be lamp, site, district or cabinet");
            }

            var request = new CommandRequest { TargetKind = kind, Target = body.Target ?? "", On = body.On, DimPct = body.DimPct, By = user.Identity!.Name!, Reason = body.Reason ?? "",
                For = body.DurationMinutes is { } minutes && double.IsFinite(minutes) && Math.Abs(minutes) < 1e6 ? TimeSpan.FromMinutes(minutes) : null };
            var (receipt, refusal) = await lighting.SubmitAsync(request, context.RequestAborted);
            if (refusal is not null)
            {
                return Results.Problem(
                    statusCode: refusal.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest,
                    title: refusal.Title,
                    detail: ApiText.Sanitize(refusal.Detail, ApiText.MaxMessageChars));
            }

            if (receipt!.Sent.Count == 0)
            {
                // The target exists, but none of its lamps can take this command now: nothing was sent.
                return Results.Problem(
                    statusCode: StatusCodes.Status409Conflict,
                    title: "no lamp of the target can take this command",
                    detail: ApiText.Sanitize(string.Join("; ", receipt.Skipped.Take(5).Select(s => $"{s.DeviceId}: {s.Reason}")), ApiText.MaxMessageChars),
                    extensions: new Dictionary<string, object?> { ["skipped"] = receipt.Skipped.Count });
            }

            return Results.Ok(new
            {
                receipt.CommandId,
                Sent = receipt.Sent.Select(c => new { c.DeviceId, c.On, c.DimPct, c.DueBy }),
                receipt.Skipped,
            });
        })
            .RequireAuthorization(ApiRoles.Operator)
            .WithSummary("Switch or dim lamps")
            .WithDescription("Body: {\"targetKind\": \"lamp|site|district|cabinet\", \"target\": \"...\", \"on\": true|false, \"dimPct\": 0..100, \"reason\": \"...\", \"durationMinutes\": optional}. "
                + "200 with the command id, the lamps it was sent to and those skipped (profile without the command, offline) with the reason; "
                + "404 when the target is unknown to the device registry; 409 when none of its lamps can take the command; 400 when the command is invalid.")
            .Accepts<CommandBody>("application/json")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);

        MapReadEndpoints(api);
    }

    private static void MapReadEndpoints(RouteGroupBuilder api)
    {
        api.MapGet("/lighting/commands", (LightingService lighting, string? commandId, string? device, string? district, string? status, int? limit) =>
        {
            var max = Math.Clamp(limit ?? 200, 1, 5000);
            var history = lighting.History(c =>
                (commandId is null || c.CommandId == commandId)
                && (device is null || c.DeviceId == device)
                && (district is null || c.District == district)
                && (status is null || LightingService.StatusName(c.Status) == status), max);
            return Results.Ok(history.Select(c => new
            {
                c.CommandId, c.DeviceId, c.District, c.Site, c.On, c.DimPct, c.By, c.Reason, c.SentAt, c.DueBy,
                Status = LightingService.StatusName(c.Status), c.OutcomeAt, c.Detail,
            }));
        })
            .WithSummary("Lamp commands and their outcomes, newest first")
            .WithDescription("One row per lamp and command: pending, confirmed (detail ack or telemetry), refused, timed_out or superseded. "
                + "Filters: commandId, device, district, status; limit (default 200). Every command is also in InfluxDB (lighting_command).")
            .Produces(StatusCodes.Status200OK);

        api.MapGet("/lighting/schedules", (LightingService lighting) => Results.Ok(lighting.ScheduleStates().Select(s => new
        {
            s.Schedule.Id, s.Schedule.District, s.Schedule.Site, s.State.On, s.State.DimPct, s.State.Since, s.State.Until, s.State.Reason,
        })))
            .WithSummary("The schedules and the state each asks for now")
            .Produces(StatusCodes.Status200OK);

        MapEnergyEndpoint(api);
    }

    private static void MapEnergyEndpoint(RouteGroupBuilder api) =>
        api.MapGet("/lighting/energy", (LightingService lighting, TimeProvider time, string? month) =>
        {
            month ??= time.GetUtcNow().ToString("yyyy-MM", CultureInfo.InvariantCulture);
            if (!DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "month must be yyyy-MM");
            }

            var tariff = lighting.Options.TariffPerKwh;
            return Results.Ok(new
            {
                Month = month,
                lighting.Options.Currency,
                TariffPerKwh = tariff,
                Districts = lighting.EnergyOf(month).Select(e => new
                {
                    e.District,
                    MeasuredKwh = Math.Round(e.MeasuredKwh, 3),
                    FullPowerKwh = Math.Round(e.FullKwh, 3),
                    SavedKwh = Math.Round(Math.Max(0, e.FullKwh - e.MeasuredKwh), 3),
                    SavedMoney = Math.Round((decimal)Math.Max(0, e.FullKwh - e.MeasuredKwh) * tariff, 2),
                }),
            });
        })
            .WithSummary("Energy per district and month: measured against the same lamps at full power on the same hours")
            .WithDescription("month=yyyy-MM (default: this month, UTC). savedMoney = savedKwh x Lighting:TariffPerKwh in Lighting:Currency.")
            .Produces(StatusCodes.Status200OK)
            .ProducesProblem(StatusCodes.Status400BadRequest);
}

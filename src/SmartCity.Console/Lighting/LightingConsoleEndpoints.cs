using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using SmartCity.OperatorConsole.Security;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting;
using SmartCity.Telemetry.Tenancy;

namespace SmartCity.OperatorConsole.Lighting;

/// <summary>
/// The console's lighting command form posts here: an operator's command goes to the same
/// <see cref="LightingService.SubmitAsync(CommandRequest, CancellationToken)"/> as the operator API's
/// <c>POST /api/lighting/commands</c>, recorded under the person's name. Operators only (a viewer's forged
/// post is 403), a CSRF token always (the antiforgery middleware refuses a post without it), and a
/// district-scoped account reaches only lamps of its districts: a target with any lamp outside them is
/// answered as an unknown one, never confirmed.
/// </summary>
public static class LightingConsoleEndpoints
{
    public const string Path = ConsoleAuth.BasePath + "/lighting";

    /// <summary>The form's fields: <c>action</c> is <c>on</c>, <c>off</c> or <c>dim</c> (with <c>dimPct</c>).</summary>
    public sealed record CommandForm(string? TargetKind, string? Target, string? Action, double? DimPct, string? Reason, TimeSpan? For = null);

    public static void Map(IEndpointRouteBuilder app) =>
        app.MapPost(Path + "/commands", async (LightingService lighting, DeviceRegistry registry, ClaimsPrincipal user, HttpContext context,
            [FromForm] string? targetKind, [FromForm] string? target, [FromForm] string? action, [FromForm] string? dimPct, [FromForm] string? reason, [FromForm] string? duration) =>
        {
            // Fields one by one, as text: a record bound from the form answers 400 (with no reason) to a post without dimPct.
            var level = double.TryParse(dimPct, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : (double?)null;
            var form = new CommandForm(targetKind, target, action, level, reason,
                int.TryParse(duration, NumberStyles.None, CultureInfo.InvariantCulture, out var minutes) && minutes > 0 ? TimeSpan.FromMinutes(minutes) : null);
            if (Request(form, user.Identity!.Name!) is not { } request)
            {
                return Results.Redirect(Path + "?refused=" + Uri.EscapeDataString("invalid command"));
            }

            if (!Reachable(request, registry.Devices, ConsoleAuth.Scope(context)))
            {
                return Results.Redirect(Path + "?refused=" + Uri.EscapeDataString($"unknown {form.TargetKind} '{request.Target}'"));
            }

            var (receipt, refusal) = await lighting.SubmitAsync(request, context.RequestAborted).ConfigureAwait(false);
            if (refusal is not null)
            {
                return Results.Redirect(Path + "?refused=" + Uri.EscapeDataString(refusal.Title + ": " + refusal.Detail));
            }

            // Sent to none (offline, no such capability) is still a command: its page lists the skipped lamps and why.
            return Results.Redirect(Path + "?command=" + Uri.EscapeDataString(receipt!.CommandId));
        }).RequireAuthorization(ConsoleAuth.OperatorPolicy);

    /// <summary>The request the form asks for, or null when the form is not one the page can make.</summary>
    public static CommandRequest? Request(CommandForm form, string by)
    {
        ArgumentNullException.ThrowIfNull(form);
        if (form.TargetKind is not ("lamp" or "site" or "district")
            || !Enum.TryParse<TargetKind>(form.TargetKind, ignoreCase: true, out var kind))
        {
            return null;
        }

        (bool? on, double? dim) = form.Action switch
        {
            "on" => (true, (double?)null),
            "off" => (false, null),
            "dim" when form.DimPct is { } d => ((bool?)null, d),
            _ => ((bool?)null, (double?)null),
        };
        return on is null && dim is null
            ? null
            : new CommandRequest { TargetKind = kind, Target = form.Target?.Trim() ?? "", On = on, DimPct = dim, By = by, Reason = form.Reason?.Trim() ?? "", For = form.For };
    }

    /// <summary>
    /// Whether every device the target names is in the account's scope (and there is one): a site's name
    /// may be used in several districts, so a district account's site command must not reach the others'.
    /// </summary>
    public static bool Reachable(CommandRequest request, IEnumerable<DeviceRecord> devices, CityScope scope)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(scope);
        var named = devices.Where(d => request.TargetKind switch
        {
            TargetKind.Lamp => d.DeviceId == request.Target,
            TargetKind.Site => d.Site == request.Target,
            TargetKind.District => d.District == request.Target,
            _ => false,
        }).ToList();
        return named.Count > 0 && named.All(scope.Sees);
    }

    /// <summary>A level as the page shows it.</summary>
    public static string Level(bool on, double dimPct) => on ? dimPct.ToString("0.#", CultureInfo.InvariantCulture) + " %" : "off";
}

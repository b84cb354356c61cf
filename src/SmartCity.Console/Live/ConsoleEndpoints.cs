using System.Net.ServerSentEvents;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using SmartCity.OperatorConsole.Security;
using SmartCity.OperatorConsole.Text;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Tenancy;

namespace SmartCity.OperatorConsole.Live;

/// <summary>
/// The console's endpoints beside its pages: the live event stream, the operator actions (plain form
/// posts, CSRF-checked, then back to the alert's page), logout, the language switch and the assets.
/// None is in the operator API's OpenAPI document: they serve the page, not machines.
/// </summary>
internal static class ConsoleEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConsoleOptions options)
    {
        var console = app.MapGroup(ConsoleAuth.BasePath).ExcludeFromDescription();

        console.MapGet("/", () => Results.Redirect(ConsoleAuth.BasePath + "/alerts")).AllowAnonymous();

        console.MapGet("/events", (AlertFeed feed, HttpContext context) =>
            TypedResults.ServerSentEvents(Changes(feed, ConsoleAuth.Scope(context), context.RequestAborted)))
            .RequireAuthorization(ConsoleAuth.ViewerPolicy);

        MapAction(console, "acknowledge", (alerting, id, who, comment) => alerting.AcknowledgeAsync(id, who, comment));
        MapAction(console, "resolve", (alerting, id, who, comment) => alerting.ResolveAsync(id, who, comment));
        MapAction(console, "comment", (alerting, id, who, comment) => alerting.CommentAsync(id, who, comment ?? ""));

        console.MapPost("/logout", async (HttpContext context, IFormCollection form) =>
        {
            await context.SignOutAsync(ConsoleAuth.CookieScheme).ConfigureAwait(false);
            return Results.Redirect(ConsoleAuth.BasePath + "/login", permanent: false, preserveMethod: false);
        }).RequireAuthorization(ConsoleAuth.ViewerPolicy);

        console.MapPost("/language", (HttpContext context, [FromForm] string lang, [FromForm] string? returnUrl) =>
        {
            if (ConsoleText.Languages.Contains(lang))
            {
                context.Response.Cookies.Append(ConsoleText.CookieName, lang, new CookieOptions
                {
                    Path = ConsoleAuth.BasePath,
                    HttpOnly = true,
                    SameSite = SameSiteMode.Strict,
                    Secure = context.Request.IsHttps,
                    MaxAge = TimeSpan.FromDays(365),
                });
            }

            return Results.Redirect(IsLocal(returnUrl) ? returnUrl! : ConsoleAuth.BasePath + "/alerts");
        }).RequireAuthorization(ConsoleAuth.AnyonePolicy);

        console.MapGet("/assets/{name}", (string name) => ConsoleAssets.Serve(name)).AllowAnonymous();

        if (options.Oidc.Enabled)
        {
            console.MapGet("/login/oidc", ConsoleAuth.ChallengeOidcAsync).AllowAnonymous();
        }
    }

    /// <summary>Only paths of the console itself: a crafted link cannot send someone elsewhere after login or a switch.</summary>
    internal static bool IsLocal(string? url) =>
        url is { Length: > 0 } && url.StartsWith(ConsoleAuth.BasePath, StringComparison.Ordinal) && !url.StartsWith("//", StringComparison.Ordinal) && !url.Contains('\\', StringComparison.Ordinal);

    private static async IAsyncEnumerable<SseItem<AlertChange>> Changes(AlertFeed feed, CityScope scope, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Subscribed before the first event: a page that saw "hello" (and shows "live") misses no later change.
        using var subscription = feed.Subscribe();
        yield return new SseItem<AlertChange>(new AlertChange("", "hello", "", "", "", "", ""), "hello");
        // Only the session's districts: another district's changes would name its devices.
        await foreach (var change in subscription.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (!scope.SeesDistrict(change.District))
            {
                continue;
            }

            yield return new SseItem<AlertChange>(change, "alert");
        }
    }

    private static void MapAction(RouteGroupBuilder console, string action, Func<AlertingService, string, string, string?, Task<AlertOperationResult>> act) =>
        console.MapPost("/alerts/{id}/" + action, async (AlertingService alerting, ClaimsPrincipal user, HttpContext context, string id, [FromForm] string? comment) =>
        {
            // Unknown, or another city's or district's (a forged post): the same 404, so neither is confirmed.
            if (await alerting.FindAsync(id, context.RequestAborted).ConfigureAwait(false) is not { } alert || !ConsoleAuth.Scope(context).Sees(alert))
            {
                return Results.NotFound();
            }

            var result = await act(alerting, id, user.Identity!.Name!, string.IsNullOrWhiteSpace(comment) ? null : comment.Trim()).ConfigureAwait(false);
            // Back to the alert's page, which shows the new state (or why it was refused), as after any form.
            var target = $"{ConsoleAuth.BasePath}/alerts/{Uri.EscapeDataString(id)}";
            return result.Ok
                ? Results.Redirect(target)
                : Results.Redirect(target + "?refused=" + Uri.EscapeDataString(result.Error.ToString()));
        }).RequireAuthorization(ConsoleAuth.OperatorPolicy);
}

using System.Security.Claims;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Worker.Security;

namespace SmartCity.Worker;

/// <summary>Operator endpoints: list alerts, one alert with its history, acknowledge, resolve, comment.</summary>
public static class AlertEndpoints
{
    /// <summary>
    /// Body of acknowledge, resolve and comment. Who acts is the API key's name, never the body:
    /// a body that names someone (<c>by</c>) is refused, so nobody acts in another's name by mistake.
    /// </summary>
    public sealed record OperatorAction(string? Comment, string? By = null);

    public static void MapAlertEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapApiGroup().WithTags("alerts");

        api.MapGet("/alerts", async (AlertingService alerting, string? state, string? sector, string? district, string? severity, HttpContext context) =>
        {
            if (state is not (null or "open" or "raised" or "acknowledged" or "resolved"))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "state must be open, raised, acknowledged or resolved");
            }

            if (severity is not (null or "critical" or "major" or "minor" or "warning"))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "severity must be critical, major, minor or warning");
            }

            var scope = ApiScope.Of(context);
            var alerts = (await alerting.AlertsAsync(context.RequestAborted)).Where(a => scope.Sees(a)
                && (state is null || (state == "open" ? a.IsOpen : a.State.ToString().Equals(state, StringComparison.OrdinalIgnoreCase)))
                && (sector is null || a.Sector == sector)
                && (district is null || a.District == district)
                && (severity is null || a.Severity.ToString().Equals(severity, StringComparison.OrdinalIgnoreCase)));
            return Results.Ok(alerts.OrderByDescending(a => a.RaisedAt));
        })
            .WithSummary("List alerts, newest first")
            .WithDescription("Filters: state=open|raised|acknowledged|resolved (open = raised or acknowledged), sector, district, severity=critical|major|minor|warning.")
            .Produces<IEnumerable<Alert>>()
            .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("/alerts/{id}", async (AlertingService alerting, string id, HttpContext context) =>
            await alerting.FindAsync(id, context.RequestAborted) is { } alert && ApiScope.Of(context).Sees(alert) ? Results.Ok(alert) : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "alert not found", detail: $"no alert '{ApiText.Sanitize(id)}'"))
            .WithSummary("One alert with its history")
            .WithDescription("The history lists every step: raised, escalated, acknowledged, commented, resolved; who (by), when and the comment. "
                + "One clock per field: raisedAt, lastOccurrenceAt, acknowledgedAt, resolvedAt and each entry's at are the engine's clock; "
                + "deviceTime (per entry) and lastOccurrenceDeviceTime are the device's own. States and kinds are lowercase, as the state filter.")
            .Produces<Alert>()
            .ProducesProblem(StatusCodes.Status404NotFound);

        MapAction(api, "/alerts/{id}/acknowledge", "Acknowledge an alert",
            "Recorded under the API key's name with the optional comment. 409 when already acknowledged or resolved.",
            (alerting, id, who, comment) => alerting.AcknowledgeAsync(id, who, comment));

        MapAction(api, "/alerts/{id}/resolve", "Resolve an alert",
            "Recorded under the API key's name with the optional comment. 409 when already resolved.",
            (alerting, id, who, comment) => alerting.ResolveAsync(id, who, comment));

        MapAction(api, "/alerts/{id}/comments", "Comment on an alert",
            "Adds the comment (required) to the alert's history under the API key's name.",
            (alerting, id, who, comment) => alerting.CommentAsync(id, who, comment ?? ""));
    }

    private static void MapAction(
        RouteGroupBuilder api, string pattern, string summary, string description,
        Func<AlertingService, string, string, string?, Task<AlertOperationResult>> act) =>
        api.MapPost(pattern, async (AlertingService alerting, ClaimsPrincipal user, string id, OperatorAction? body, HttpContext context) =>
        {
            var who = user.Identity!.Name!;
            if (await alerting.FindAsync(id, context.RequestAborted) is { } alert && !ApiScope.Of(context).Sees(alert))
            {
                // Another city's (or district's) alert: answered as one that does not exist.
                return Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "alert not found", detail: $"no alert '{ApiText.Sanitize(id)}'");
            }

            if (body?.By is not null)
            {
                return Results.Problem(
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "'by' is not accepted",
                    detail: $"Actions are recorded under the API key's name ('{who}'); send only {{\"comment\": \"...\"}}.");
            }

            return ToResult(await act(alerting, id, who, body?.Comment));
        })
            .RequireAuthorization(ApiRoles.Operator)
            .WithSummary(summary)
            .WithDescription(description + " Body (optional for acknowledge and resolve): {\"comment\": \"...\"}; a 'by' property is refused with 400.")
            .Accepts<OperatorAction>("application/json")
            .Produces<Alert>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

    private static IResult ToResult(AlertOperationResult result) => result.Error switch
    {
        AlertOperationError.None => Results.Ok(result.Alert),
        // The engine's reason quotes the requested id: a fixed title, and the reason only sanitized in the detail.
        AlertOperationError.NotFound => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: "alert not found", detail: ApiText.Sanitize(result.Reason ?? "", ApiText.MaxMessageChars)),
        AlertOperationError.AlreadyResolved or AlertOperationError.AlreadyAcknowledged => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: ApiText.Sanitize(result.Reason ?? "", ApiText.MaxMessageChars)),
        _ => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: ApiText.Sanitize(result.Reason ?? "", ApiText.MaxMessageChars)),
    };
}

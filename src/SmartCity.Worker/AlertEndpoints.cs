using SmartCity.Telemetry.Alerting;

namespace SmartCity.Worker;

/// <summary>Operator endpoints: list alerts, one alert with its history, acknowledge, resolve, comment.</summary>
public static class AlertEndpoints
{
    /// <summary>Body of acknowledge, resolve and comment: who acts, and what they say.</summary>
    public sealed record OperatorAction(string? By, string? Comment);

    public static void MapAlertEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/alerts", async (AlertingService alerting, string? state, string? sector, string? district, string? severity) =>
        {
            if (state is not (null or "open" or "raised" or "acknowledged" or "resolved"))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "state must be open, raised, acknowledged or resolved");
            }

            if (severity is not (null or "critical" or "major" or "minor" or "warning"))
            {
                return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "severity must be critical, major, minor or warning");
            }

            var alerts = (await alerting.AlertsAsync()).Where(a =>
                (state is null || (state == "open" ? a.IsOpen : a.State.ToString().Equals(state, StringComparison.OrdinalIgnoreCase)))
                && (sector is null || a.Sector == sector)
                && (district is null || a.District == district)
                && (severity is null || a.Severity.ToString().Equals(severity, StringComparison.OrdinalIgnoreCase)));
            return Results.Ok(alerts.OrderByDescending(a => a.RaisedAt));
        });

        app.MapGet("/api/alerts/{id}", async (AlertingService alerting, string id) =>
            await alerting.FindAsync(id) is { } alert ? Results.Ok(alert) : Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"no alert '{id}'"));

        app.MapPost("/api/alerts/{id}/acknowledge", async (AlertingService alerting, string id, OperatorAction body) =>
            ToResult(await alerting.AcknowledgeAsync(id, body.By ?? "", body.Comment)));

        app.MapPost("/api/alerts/{id}/resolve", async (AlertingService alerting, string id, OperatorAction body) =>
            ToResult(await alerting.ResolveAsync(id, body.By ?? "", body.Comment)));

        app.MapPost("/api/alerts/{id}/comments", async (AlertingService alerting, string id, OperatorAction body) =>
            ToResult(await alerting.CommentAsync(id, body.By ?? "", body.Comment ?? "")));
    }

    private static IResult ToResult(AlertOperationResult result) => result.Error switch
    {
        AlertOperationError.None => Results.Ok(result.Alert),
        AlertOperationError.NotFound => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: result.Reason),
        AlertOperationError.AlreadyResolved or AlertOperationError.AlreadyAcknowledged => Results.Problem(statusCode: StatusCodes.Status409Conflict, title: result.Reason),
        _ => Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: result.Reason),
    };
}

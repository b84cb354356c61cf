namespace SmartCity.Worker.Talq;

/// <summary>A refusal in the spec's shape: an array of TALQErrorMessage (key, description), with its HTTP status.</summary>
public sealed record TalqError(int Status, string Key, string Description)
{
    public static TalqError Payload(string description) => new(StatusCodes.Status400BadRequest, "payloadError", description);

    public IResult ToResult() =>
        Results.Json(new[] { new { key = Key, description = ApiText.Sanitize(Description, ApiText.MaxMessageChars) } }, statusCode: Status);
}

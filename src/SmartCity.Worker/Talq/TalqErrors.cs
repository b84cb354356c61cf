namespace SmartCity.Worker.Talq;

/// <summary>A refusal in the spec's shape: an array of TALQErrorMessage (key, description), with its HTTP status.</summary>
public sealed record TalqError(int Status, string Key, string Description)
{
    public static TalqError Payload(string description) => new(StatusCodes.Status400BadRequest, "payloadError", description);

    /// <summary>Text from a body or a gateway, made safe to echo and log: one line, control characters replaced, at most 300 characters.</summary>
    public static string Clip(string text)
    {
        var clean = new string([.. text.Take(300).Select(c => char.IsControl(c) ? ' ' : c)]);
        return text.Length > 300 ? clean + "..." : clean;
    }

    public IResult ToResult() =>
        Results.Json(new[] { new { key = Key, description = TalqError.Clip(Description) } }, statusCode: Status);
}

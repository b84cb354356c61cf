using System.Text.Json;

namespace SmartCity.Worker.Talq;

/// <summary>
/// A gateway's "api" entry in the mapping file: <c>{ "url", "username", "passwordFile", "cmsAddress", "apiVersion" }</c>.
/// The password is read from its file (a secret mount), never written in the mapping file.
/// </summary>
public static class TalqGatewayApi
{
    public static TalqGatewayEndpoint? Parse(JsonElement api, string where, List<string> problems)
    {
        string? Text(string name) => api.ValueKind == JsonValueKind.Object && api.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var before = problems.Count;
        if (!Uri.TryCreate(Text("url"), UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            problems.Add($"{where}.api: 'url' must be the gateway's TALQ base URL (https://...)");
        }

        if (!Guid.TryParse(Text("cmsAddress"), out var cms))
        {
            problems.Add($"{where}.api: 'cmsAddress' must be our CMS's TALQ address (a UUID) as the gateway knows it");
        }

        var username = Text("username");
        if (string.IsNullOrWhiteSpace(username))
        {
            problems.Add($"{where}.api: 'username' is required");
        }

        string? password = null;
        try
        {
            password = Text("passwordFile") is { Length: > 0 } file ? File.ReadAllText(file).TrimEnd('\r', '\n') : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problems.Add($"{where}.api: passwordFile cannot be read: {ex.Message}");
        }

        if (password is null && problems.Count == before)
        {
            problems.Add($"{where}.api: 'passwordFile' is required");
        }

        return problems.Count == before ? new TalqGatewayEndpoint(url!, username!, password!, cms, Text("apiVersion") ?? "2.7.1") : null;
    }
}

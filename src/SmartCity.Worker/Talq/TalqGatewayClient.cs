using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using SmartCity.Telemetry.Lighting.Schedules;

namespace SmartCity.Worker.Talq;

/// <summary>How we reach one gateway's TALQ API: its base URL, the TALQ version we speak, our credentials there and our CMS address.</summary>
public sealed record TalqGatewayEndpoint(Uri BaseUrl, string Username, string Password, Guid CmsAddress, string ApiVersion = "2.7.1");

/// <summary>The TALQ answer to one request: its status and body, so callers and logs can say what the gateway refused.</summary>
public sealed record TalqReply(int Status, string Body)
{
    public bool Accepted => Status is >= 200 and < 300;

    /// <summary>Worth asking again later (the gateway is busy or broken); other refusals stay refused until the request changes.</summary>
    public bool Retryable => Status is >= 500 or StatusCodes.Status408RequestTimeout or StatusCodes.Status429TooManyRequests;
}

/// <summary>
/// A client of one TALQ gateway (the gateway API): control programs and calendars for our schedules,
/// override commands for operator commands, the logger configuration our CMS needs. Every request
/// carries the talq-api-version header, our clientAddress and a fresh talqRequestId.
/// </summary>
public sealed class TalqGatewayClient(HttpClient http, TalqGatewayEndpoint endpoint)
{
    public string OwnerCms => endpoint.CmsAddress.ToString("D");

    /// <summary>Programs before the calendar that names them; an existing one (409) is updated with PUT.</summary>
    public async Task<IReadOnlyList<TalqReply>> SendScheduleAsync(LightingSchedule schedule, CancellationToken cancellationToken) =>
    [
        await UpsertAsync("/control-programs", TalqGatewayRequests.ControlPrograms(schedule, OwnerCms), cancellationToken).ConfigureAwait(false),
        await UpsertAsync("/calendars", new[] { TalqGatewayRequests.Calendar(schedule, OwnerCms) }, cancellationToken).ConfigureAwait(false),
    ];

    public Task<TalqReply> SendOverrideAsync(object overrideCommand, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "/override-commands", overrideCommand, cancellationToken);

    /// <summary>Gives lamps a calendar (one of <see cref="SendScheduleAsync"/>'s): the gateway answers 201, or 202 and reports the outcome later.</summary>
    public Task<TalqReply> AssignAsync(object assignCommand, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "/assign-commands", assignCommand, cancellationToken);

    public Task<TalqReply> ConfigureLoggerAsync(object loggerConfig, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "/logger-configs", loggerConfig, cancellationToken);

    public async Task<TalqReply> SendAsync(HttpMethod method, string path, object body, CancellationToken cancellationToken)
    {
        var uri = new Uri(endpoint.BaseUrl, $"{endpoint.BaseUrl.AbsolutePath.TrimEnd('/')}{path}?clientAddress={endpoint.CmsAddress:D}&talqRequestId={Guid.NewGuid():D}");
        using var request = new HttpRequestMessage(method, uri) { Content = JsonContent.Create(body) };
        request.Headers.Add("talq-api-version", endpoint.ApiVersion);
        request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{endpoint.Username}:{endpoint.Password}")));
        using var response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return new TalqReply((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }

    private async Task<TalqReply> UpsertAsync(string path, object body, CancellationToken cancellationToken)
    {
        var created = await SendAsync(HttpMethod.Post, path, body, cancellationToken).ConfigureAwait(false);
        return created.Status == StatusCodes.Status409Conflict
            ? await SendAsync(HttpMethod.Put, path, body, cancellationToken).ConfigureAwait(false)
            : created;
    }
}

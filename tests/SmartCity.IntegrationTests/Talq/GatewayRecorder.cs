using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>One request the worker sent to the gateway and the validating mock's answer.</summary>
public sealed record GatewayRequest(string Method, string Path, JsonElement? Body, int Status, string Reply)
{
    public bool Accepted => Status is >= 200 and < 300;

    public override string ToString() => $"{Method} {Path} -> {Status} {Body}";
}

/// <summary>
/// A pass-through in front of <see cref="PrismGatewayMock"/>: the worker talks to it as to the gateway, it forwards
/// every request to the mock unchanged and keeps the request with the mock's answer, so a test sees what was sent,
/// in which order, and that the mock (which checks each request against the gateway OpenAPI file) accepted it.
/// </summary>
public sealed class GatewayRecorder : IAsyncDisposable
{
    private static readonly string[] Forwarded = ["talq-api-version", "Authorization"];
    private readonly WebApplication _app;
    private readonly HttpClient _mock;
    private readonly ConcurrentQueue<GatewayRequest> _requests = new();
    private readonly ConditionSignal _changed = new();

    private GatewayRecorder(WebApplication app, Uri mock)
    {
        _app = app;
        _mock = new HttpClient { BaseAddress = mock, Timeout = TimeSpan.FromSeconds(60) };
    }

    public Uri BaseUrl => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

    public IReadOnlyList<GatewayRequest> Requests => [.. _requests];

    public static async Task<GatewayRecorder> StartAsync(Uri mock)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var recorder = new GatewayRecorder(builder.Build(), mock);
        recorder._app.Run(recorder.ForwardAsync);
        await recorder._app.StartAsync();
        return recorder;
    }

    /// <summary>Waits until the requests so far satisfy <paramref name="condition"/>; re-checked at each request, never on a timer.</summary>
    public Task WaitForAsync(Func<IReadOnlyList<GatewayRequest>, bool> condition, TimeSpan timeout) =>
        _changed.WaitUntilAsync(() => condition(Requests), timeout, () => "requests so far:\n" + string.Join("\n", Requests));

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _mock.Dispose();
    }

    private async Task ForwardAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path.Value!.TrimStart('/') + context.Request.QueryString.Value);
        if (body.Length > 0)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        foreach (var header in Forwarded.Where(h => context.Request.Headers.ContainsKey(h)))
        {
            request.Headers.TryAddWithoutValidation(header, context.Request.Headers[header].ToString());
        }

        using var answer = await _mock.SendAsync(request);
        var reply = await answer.Content.ReadAsStringAsync();
        _requests.Enqueue(new GatewayRequest(context.Request.Method, context.Request.Path.Value!, body.Length > 0 ? JsonDocument.Parse(body).RootElement.Clone() : null, (int)answer.StatusCode, reply));
        _changed.Notify();
        context.Response.StatusCode = (int)answer.StatusCode;
        context.Response.ContentType = answer.Content.Headers.ContentType?.ToString();
        await context.Response.WriteAsync(reply);
    }
}

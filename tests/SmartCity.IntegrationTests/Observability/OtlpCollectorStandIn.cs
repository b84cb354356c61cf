using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace SmartCity.IntegrationTests.Observability;

/// <summary>
/// An OpenTelemetry collector as the worker sees it: OTLP/HTTP protobuf on 127.0.0.1, POST
/// <c>/v1/metrics</c> and <c>/v1/traces</c>, answered 200 with an empty response; every request body is
/// kept, decoded by <see cref="OtlpProtobuf"/>, and signalled to waiters.
/// </summary>
public sealed class OtlpCollectorStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string Path, string ContentType, byte[] Body)> _requests = new();
    private readonly Infrastructure.ConditionSignal _received = new();

    private OtlpCollectorStandIn(WebApplication app) => _app = app;

    public Uri Url => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

    public IReadOnlyCollection<(string Path, string ContentType, byte[] Body)> Requests => _requests;

    public static async Task<OtlpCollectorStandIn> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var standIn = new OtlpCollectorStandIn(app);
        app.MapPost("/v1/{signal}", async (HttpContext http, string signal) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            standIn.Add("/v1/" + signal, http.Request.ContentType ?? "", body.ToArray());
            // An empty Export*ServiceResponse: full success.
            return Results.Bytes([], "application/x-protobuf");
        });
        await app.StartAsync();
        return standIn;
    }

    /// <summary>Waits until <paramref name="condition"/> holds for the requests received so far, re-checking at each new one.</summary>
    public Task WaitUntilAsync(Func<IReadOnlyCollection<(string Path, string ContentType, byte[] Body)>, bool> condition, TimeSpan timeout, Func<string> describe) =>
        _received.WaitUntilAsync(() => condition(_requests), timeout, () => "the collector stand-in did not get what was expected: " + describe());

    private void Add(string path, string contentType, byte[] body)
    {
        _requests.Enqueue((path, contentType, body));
        _received.Notify();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Api;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>One tile request as the stand-in tile server saw it.</summary>
public sealed record TileRequest(string Tile, string? Referer);

/// <summary>
/// The console fixture with a tile server: a stand-in on 127.0.0.1 serving one plain green 256 px PNG for
/// every <c>/{z}/{x}/{y}.png</c> (or 503 while <see cref="Failing"/>), recording each request, and a
/// worker whose <c>Console:TileUrl</c> points at it.
/// </summary>
public sealed class ConsoleTileBrowser : ConsoleBrowser
{
    public const string Attribution = "Tiles © Test City GIS";

    /// <summary>The tile's colour (#7cb342), as found again on the page's screenshot.</summary>
    public static readonly (int R, int G, int B) TileColour = (0x7c, 0xb3, 0x42);

    /// <summary>A 256 x 256 PNG all of <see cref="TileColour"/> (a real tile's size: a smaller image stretched would fade at its edges).</summary>
    private static readonly byte[] Png = Convert.FromBase64String(
        "iVBORw0KGgoAAAANSUhEUgAAAQAAAAEACAIAAADTED8xAAACAElEQVR42u3TQQ0AAAjEsNOGLlxhkDcaaFIFS5aegrciAQYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABMIAKGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAYAA4ABwABgADAAGAAMAAbAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAGUAEDgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAAGAAMAAYAAwABgADgAHAABgADAAGAAOAAcAAYAAwABgADAAGAAOAAcAAYAAwABgADAAGAAOAAcAAYAAwABgADAAGAAOAAcAAYAAwABgADAAGAAOAAcAAYAAwABgADAAGAAOAAcAAYAAwAFwLO0gVoGW12jwAAAAASUVORK5CYII=");

    private readonly ConcurrentQueue<TileRequest> _requests = new();
    private Channel<TileRequest> _arrivals = Channel.CreateUnbounded<TileRequest>();
    private WebApplication? _tiles;
    private string _tileUrl = "";

    /// <summary>Answers 503 to every tile, as a tile server that is down or unreachable would.</summary>
    public bool Failing { get; set; }

    public override async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _tiles = builder.Build();
        _tiles.MapGet("/{z:int}/{x:int}/{y:int}.png", (HttpContext context, int z, int x, int y) =>
        {
            var request = new TileRequest($"{z}/{x}/{y}", context.Request.Headers.Referer.FirstOrDefault());
            _requests.Enqueue(request);
            _arrivals.Writer.TryWrite(request);
            // Never cached: each test's page asks again.
            context.Response.Headers.CacheControl = "no-store";
            return Failing ? Results.StatusCode(StatusCodes.Status503ServiceUnavailable) : Results.Bytes(Png, "image/png");
        });
        await _tiles.StartAsync();
        _tileUrl = ApiTestKit.BaseAddress(_tiles).ToString().TrimEnd('/') + "/{z}/{x}/{y}.png";
        await base.InitializeAsync();
    }

    /// <summary>Forgets the requests so far (the next page's are counted alone).</summary>
    public void ClearRequests()
    {
        _requests.Clear();
        _arrivals = Channel.CreateUnbounded<TileRequest>();
    }

    /// <summary>The requests since <see cref="ClearRequests"/>, once every one of <paramref name="tiles"/> has been asked for.</summary>
    public async Task<IReadOnlyList<TileRequest>> WaitForTilesAsync(IReadOnlySet<string> tiles)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var seen = new HashSet<string>(_requests.Select(r => r.Tile), StringComparer.Ordinal);
        while (!tiles.IsSubsetOf(seen))
        {
            try
            {
                seen.Add((await _arrivals.Reader.ReadAsync(deadline.Token)).Tile);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"after 60 s the page had not asked for the tiles {string.Join(", ", tiles.Except(seen))}; asked: {string.Join(", ", seen)}");
            }
        }

        return [.. _requests];
    }

    protected override void AddWorkerSettings(Dictionary<string, string?> settings)
    {
        settings["Console:TileUrl"] = _tileUrl;
        settings["Console:TileAttribution"] = Attribution;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_tiles is not null)
        {
            await _tiles.DisposeAsync();
        }
    }
}

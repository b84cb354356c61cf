using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SmartCity.OperatorConsole.Map;
using SmartCity.OperatorConsole.Security;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.OperatorConsole.Pages;

/// <summary>One dot on the plot.</summary>
public sealed record MapPoint(string DeviceId, double X, double Y, bool Alert, string? AlertId);

/// <summary>
/// Devices with a position, and those with an open alert in red, as a plain SVG plot projected from
/// their latitude and longitude: usable with no tile server (offline cities). With Console:TileUrl the
/// devices are placed in Web Mercator at the deepest zoom that shows them all, over the tiles that cover
/// the view; a tile that fails to load leaves a hole in the background, never the dots.
/// </summary>
public sealed class MapModel(DeviceRegistry registry, AlertingService alerting, IOptions<ConsoleOptions> options) : PageModel
{
    public const double Width = 1000;
    public const double Height = 700;

    /// <summary>Room round the devices' bounding box, so that a dot at the edge is whole.</summary>
    public const double Margin = 40;

    /// <summary>A whole region at least: a shallower zoom shows continents, useless to a city.</summary>
    public const int MinZoom = 3;

    public IReadOnlyList<MapPoint> Points { get; private set; } = [];

    /// <summary>The tiles under the dots; empty without Console:TileUrl.</summary>
    public IReadOnlyList<MapTile> Tiles { get; private set; } = [];

    public string? TileUrl => options.Value.TileUrl;

    public string TileAttribution => options.Value.TileAttribution;

    public async Task OnGetAsync()
    {
        var scope = ConsoleAuth.Scope(HttpContext);
        var open = (await alerting.AlertsAsync(HttpContext.RequestAborted).ConfigureAwait(false))
            .Where(a => a.IsOpen && scope.Sees(a))
            .GroupBy(a => a.DeviceId, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderByDescending(a => a.RaisedAt).First().Id, StringComparer.Ordinal);
        var placed = registry.Devices.Where(d => d.Lat is not null && d.Lon is not null && scope.Sees(d)).ToList();
        if (placed.Count == 0)
        {
            return;
        }

        if (!string.IsNullOrEmpty(TileUrl))
        {
            // Tile servers (OpenStreetMap's usage policy) want a Referer: the console's origin only, never a page's path.
            Response.Headers["Referrer-Policy"] = "strict-origin-when-cross-origin";
            PlaceOnTiles(placed, open);
            return;
        }

        // Equirectangular with the longitude scaled by cos(latitude): right for a city's few kilometres.
        double minLat = placed.Min(d => d.Lat!.Value), maxLat = placed.Max(d => d.Lat!.Value);
        double minLon = placed.Min(d => d.Lon!.Value), maxLon = placed.Max(d => d.Lon!.Value);
        var cos = Math.Cos((minLat + maxLat) / 2 * Math.PI / 180);
        var spanX = Math.Max((maxLon - minLon) * cos, 1e-6);
        var spanY = Math.Max(maxLat - minLat, 1e-6);
        var scale = Math.Min((Width - 40) / spanX, (Height - 40) / spanY);
        Points = [.. placed.Select(d => new MapPoint(
            d.DeviceId,
            20 + ((d.Lon!.Value - minLon) * cos * scale),
            Height - 20 - ((d.Lat!.Value - minLat) * scale),
            open.ContainsKey(d.DeviceId),
            open.GetValueOrDefault(d.DeviceId)))
            .OrderBy(p => p.Alert)];
    }

    private void PlaceOnTiles(IReadOnlyList<DeviceRecord> placed, Dictionary<string, string> open)
    {
        var view = TileView.Fit([.. placed.Select(d => new GeoPoint(d.Lat!.Value, d.Lon!.Value))], Width, Height, Margin, MinZoom, options.Value.TileMaxZoom);
        Tiles = view.Cover();
        Points = [.. placed.Select(d =>
            {
                var (x, y) = view.Project(new GeoPoint(d.Lat!.Value, d.Lon!.Value));
                return new MapPoint(d.DeviceId, x, y, open.ContainsKey(d.DeviceId), open.GetValueOrDefault(d.DeviceId));
            })
            .OrderBy(p => p.Alert)];
    }
}

using System.Globalization;

namespace SmartCity.OperatorConsole.Map;

/// <summary>A position in degrees (WGS 84).</summary>
public readonly record struct GeoPoint(double Lat, double Lon);

/// <summary>One 256 px tile of the view: its slippy-map address and where its top-left corner lies in the view.</summary>
public sealed record MapTile(int Z, int X, int Y, double Left, double Top)
{
    /// <summary>The tile's URL from a template with <c>{z}</c>, <c>{x}</c>, <c>{y}</c> and an optional <c>{s}</c> (sub-domain, always <c>a</c>).</summary>
    public string Url(string template) => template
        .Replace("{z}", Z.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{x}", X.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{y}", Y.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("{s}", "a", StringComparison.Ordinal);
}

/// <summary>
/// Web Mercator, the projection of slippy-map tile servers (OpenStreetMap and those built like it):
/// at zoom z the world is 2^z x 2^z tiles of 256 px, tile x = (lon + 180) / 360 * 2^z and
/// tile y = (1 - ln(tan(lat) + sec(lat)) / pi) / 2 * 2^z.
/// </summary>
public static class WebMercator
{
    public const int TileSize = 256;

    /// <summary>Web Mercator stops here: beyond, y runs off to infinity at the poles.</summary>
    public const double MaxLatitude = 85.0511287798066;

    /// <summary>Fractional tile coordinates of <paramref name="point"/> at <paramref name="zoom"/> (the integer part is the tile).</summary>
    public static (double X, double Y) ToTile(GeoPoint point, int zoom)
    {
        var n = Math.Pow(2, zoom);
        var lat = Math.Clamp(point.Lat, -MaxLatitude, MaxLatitude) * Math.PI / 180;
        var x = (point.Lon + 180) / 360 * n;
        var y = (1 - (Math.Log(Math.Tan(lat) + (1 / Math.Cos(lat))) / Math.PI)) / 2 * n;
        return (x, y);
    }

    /// <summary>Pixel coordinates of <paramref name="point"/> in the whole world's image at <paramref name="zoom"/>.</summary>
    public static (double X, double Y) ToPixel(GeoPoint point, int zoom)
    {
        var (x, y) = ToTile(point, zoom);
        return (x * TileSize, y * TileSize);
    }
}

/// <summary>
/// A width x height view (SVG user units = tile pixels) of the map at one zoom, centred on the
/// devices' bounding box: where each device falls and which tiles cover it.
/// </summary>
public sealed class TileView
{
    private TileView(int zoom, double left, double top, double width, double height)
    {
        Zoom = zoom;
        Left = left;
        Top = top;
        Width = width;
        Height = height;
    }

    public int Zoom { get; }

    /// <summary>The view's top-left corner, in world pixels at <see cref="Zoom"/>.</summary>
    public double Left { get; }

    /// <summary>The view's top-left corner, in world pixels at <see cref="Zoom"/>.</summary>
    public double Top { get; }

    public double Width { get; }

    public double Height { get; }

    /// <summary>
    /// The largest zoom, from <paramref name="minZoom"/> to <paramref name="maxZoom"/>, at which the points'
    /// bounding box plus <paramref name="margin"/> on each side fits the view; <paramref name="minZoom"/> when
    /// none does (devices spread over a continent). A single device gets <paramref name="maxZoom"/>.
    /// </summary>
    public static TileView Fit(IReadOnlyCollection<GeoPoint> points, double width, double height, double margin, int minZoom, int maxZoom)
    {
        ArgumentOutOfRangeException.ThrowIfZero(points.Count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minZoom, maxZoom);
        var zoom = maxZoom;
        while (zoom > minZoom && !Fits(points, zoom, width - (2 * margin), height - (2 * margin)))
        {
            zoom--;
        }

        var pixels = points.Select(p => WebMercator.ToPixel(p, zoom)).ToList();
        var centreX = (pixels.Min(p => p.X) + pixels.Max(p => p.X)) / 2;
        var centreY = (pixels.Min(p => p.Y) + pixels.Max(p => p.Y)) / 2;
        return new TileView(zoom, centreX - (width / 2), centreY - (height / 2), width, height);
    }

    /// <summary>Where <paramref name="point"/> falls in the view.</summary>
    public (double X, double Y) Project(GeoPoint point)
    {
        var (x, y) = WebMercator.ToPixel(point, Zoom);
        return (x - Left, y - Top);
    }

    /// <summary>
    /// Every tile that shows in the view, left to right and top to bottom; none above the north or below
    /// the south edge of the world, and x wrapped round the antimeridian.
    /// </summary>
    public IReadOnlyList<MapTile> Cover()
    {
        var n = 1 << Zoom;
        int firstX = (int)Math.Floor(Left / WebMercator.TileSize), lastX = (int)Math.Ceiling((Left + Width) / WebMercator.TileSize) - 1;
        int firstY = Math.Max(0, (int)Math.Floor(Top / WebMercator.TileSize)), lastY = Math.Min(n - 1, (int)Math.Ceiling((Top + Height) / WebMercator.TileSize) - 1);
        var tiles = new List<MapTile>();
        for (var y = firstY; y <= lastY; y++)
        {
            for (var x = firstX; x <= lastX; x++)
            {
                tiles.Add(new MapTile(Zoom, ((x % n) + n) % n, y, (x * WebMercator.TileSize) - Left, (y * WebMercator.TileSize) - Top));
            }
        }

        return tiles;
    }

    private static bool Fits(IReadOnlyCollection<GeoPoint> points, int zoom, double width, double height)
    {
        var pixels = points.Select(p => WebMercator.ToPixel(p, zoom)).ToList();
        return pixels.Max(p => p.X) - pixels.Min(p => p.X) <= width && pixels.Max(p => p.Y) - pixels.Min(p => p.Y) <= height;
    }
}

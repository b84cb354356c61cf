using SmartCity.OperatorConsole.Map;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// The map's Web Mercator tile maths, no server needed. The expected values were worked out apart from
/// this code (the slippy-map formulas in a few lines of Python), not copied from its output.
/// </summary>
public sealed class MapTileMathTests
{
    private static readonly GeoPoint LyonDoor = new(45.7640, 4.8357);
    private static readonly GeoPoint LyonLamp = new(45.7655, 4.8390);

    [Theory]
    [InlineData(48.8566, 2.3522, 12, 2074, 1409)] // Paris, Notre-Dame's quarter: x 2074.76, y 1409.14
    [InlineData(0.0, 0.0, 1, 1, 1)] // the equator and Greenwich meet at the corner of the four zoom-1 tiles
    [InlineData(45.7640, 4.8357, 18, 134593, 93507)] // Lyon, the test door: x 134593.25, y 93507.68
    [InlineData(-33.8688, 151.2093, 10, 942, 614)] // Sydney: south of the equator, east of Greenwich
    public void ToTile_KnownPlaces_GivesTheSlippyMapTile(double lat, double lon, int zoom, int tileX, int tileY)
    {
        var (x, y) = WebMercator.ToTile(new GeoPoint(lat, lon), zoom);
        Assert.Equal(tileX, (int)Math.Floor(x));
        Assert.Equal(tileY, (int)Math.Floor(y));
    }

    [Fact]
    public void ToTile_BeyondMercatorsLatitude_ClampsToTheWorldsEdge()
    {
        Assert.Equal(0, WebMercator.ToTile(new GeoPoint(90, 0), 5).Y, 6);
        Assert.Equal(32, WebMercator.ToTile(new GeoPoint(-90, 0), 5).Y, 6);
    }

    [Fact]
    public void Fit_TwoDevicesOfAStreet_DeepestZoomThatShowsBoth()
    {
        // 615 x 401 px apart at zoom 18, twice that at 19: only 18 fits 1000 x 700 less a 40 px margin.
        var view = TileView.Fit([LyonDoor, LyonLamp], 1000, 700, 40, 3, 19);
        Assert.Equal(18, view.Zoom);
        var door = view.Project(LyonDoor);
        var lamp = view.Project(LyonLamp);
        Assert.Equal(192.4, door.X, 1);
        Assert.Equal(550.4, door.Y, 1);
        Assert.Equal(807.6, lamp.X, 1);
        Assert.Equal(149.6, lamp.Y, 1);
    }

    [Fact]
    public void Fit_LilleToMarseille_ZoomsOutUntilTheCountryFits()
    {
        // North-south 490 px at zoom 6 and 980 px at 7 (more than 700 - 80).
        Assert.Equal(6, TileView.Fit([new GeoPoint(50.6292, 3.0573), new GeoPoint(43.2965, 5.3698)], 1000, 700, 40, 3, 19).Zoom);
    }

    [Fact]
    public void Fit_OneDeviceOrAWorldApart_StaysWithinTheZoomLimits()
    {
        var alone = TileView.Fit([LyonDoor], 1000, 700, 40, 3, 17);
        Assert.Equal(17, alone.Zoom);
        var (x, y) = alone.Project(LyonDoor);
        Assert.Equal(500, x, 6);
        Assert.Equal(350, y, 6);
        Assert.Equal(3, TileView.Fit([new GeoPoint(60, -150), new GeoPoint(-40, 170)], 1000, 700, 40, 3, 19).Zoom);
    }

    [Fact]
    public void Cover_TwoDevicesOfAStreet_TilesThatShowInTheView()
    {
        var view = TileView.Fit([LyonDoor, LyonLamp], 1000, 700, 40, 3, 19);
        var tiles = view.Cover();

        var expected = from y in Enumerable.Range(93505, 4) from x in Enumerable.Range(134592, 5) select (18, x, y);
        Assert.Equal(expected, tiles.Select(t => (t.Z, t.X, t.Y)));
        // Each tile sits where its world position falls in the view, and together they leave no gap.
        Assert.All(tiles, t => Assert.Equal((t.X * 256) - view.Left, t.Left, 6));
        Assert.All(tiles, t => Assert.Equal((t.Y * 256) - view.Top, t.Top, 6));
        Assert.All(tiles, t => Assert.InRange(t.Left, -256, 1000));
        Assert.All(tiles, t => Assert.InRange(t.Top, -256, 700));
        Assert.True(tiles.Min(t => t.Left) <= 0 && tiles.Max(t => t.Left) + 256 >= 1000);
        Assert.True(tiles.Min(t => t.Top) <= 0 && tiles.Max(t => t.Top) + 256 >= 700);
    }

    [Fact]
    public void Cover_AtTheAntimeridianAndThePole_WrapsXAndDropsTilesOffTheWorld()
    {
        var east = TileView.Fit([new GeoPoint(0, 179.9999)], 1000, 700, 40, 3, 10).Cover();
        Assert.Contains(east, t => t.X == 1023);
        Assert.Contains(east, t => t.X == 0);
        Assert.All(east, t => Assert.InRange(t.X, 0, 1023));

        var north = TileView.Fit([new GeoPoint(85, 0)], 1000, 700, 40, 3, 3).Cover();
        Assert.All(north, t => Assert.InRange(t.Y, 0, 7));
        Assert.Equal(0, north.Min(t => t.Y));
    }

    [Fact]
    public void Url_TemplateWithSubdomain_FillsZoomTileAndSubdomain()
    {
        var tile = new MapTile(18, 134592, 93505, 0, 0);
        Assert.Equal("https://a.tile.city.example/18/134592/93505.png", tile.Url("https://{s}.tile.city.example/{z}/{x}/{y}.png"));
        Assert.Equal("http://127.0.0.1:8081/tiles/18/134592/93505.png?style=plain", tile.Url("http://127.0.0.1:8081/tiles/{z}/{x}/{y}.png?style=plain"));
    }
}

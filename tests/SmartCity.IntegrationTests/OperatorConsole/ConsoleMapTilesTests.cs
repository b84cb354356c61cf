using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SmartCity.OperatorConsole.Map;
using SmartCity.OperatorConsole.Pages;
using SmartCity.Telemetry.Devices.Registry;
using static Microsoft.Playwright.Assertions;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// The map with a tile server (Console:TileUrl): the page asks for exactly the tiles that cover the
/// devices at the zoom that shows them all, draws them under the dots, names their source, and stays
/// usable when the tile server fails.
/// </summary>
public sealed class ConsoleMapTilesTests(ConsoleTileBrowser console) : IClassFixture<ConsoleTileBrowser>
{
    [Fact]
    public async Task MapPage_TileUrlSet_DrawsTheCoveringTilesUnderTheDots()
    {
        console.Failing = false;
        var (district, id) = await PlaceAsync();
        var expected = ExpectedCover();
        // The test devices are one street of Lyon: zoom 18 shows both (MapTileMathTests works it out).
        Assert.All(expected, t => Assert.StartsWith("18/", t, StringComparison.Ordinal));

        foreach (var (language, width, height) in new[] { ("en-GB", 1280, 800), ("fr-FR", 390, 844) })
        {
            var page = await console.NewPageAsync(language, width, height);
            await ConsoleBrowser.LogInAsync(page, "olivia.operator");
            console.ClearRequests();
            await page.GotoAsync("/console/map");

            var requests = await console.WaitForTilesAsync(expected);
            Assert.Equal(expected.Order(StringComparer.Ordinal), requests.Select(r => r.Tile).Distinct().Order(StringComparer.Ordinal));
            // The console's origin only, as tile servers' usage policies ask: never the page's path.
            Assert.All(requests, r => Assert.Equal(console.Worker.BaseAddress.GetLeftPart(UriPartial.Authority) + "/", r.Referer));
            var drawn = await page.Locator("#map image").EvaluateAllAsync<string[]>("images => images.map(i => i.dataset.tile)");
            Assert.Equal(expected.Order(StringComparer.Ordinal), drawn.Order(StringComparer.Ordinal));

            await Expect(page.Locator($"#map a[href='/console/alerts/{id}'] circle.alert")).ToHaveCountAsync(1);
            await Expect(page.Locator("#map circle.dot:not(.alert) title", new PageLocatorOptions { HasTextString = "lamp-" + district })).ToHaveCountAsync(1);
            // The dots come after the tiles in the SVG, so they are painted over them.
            Assert.True(await page.EvaluateAsync<bool>("() => { const m = document.getElementById('map'); return m.querySelector('g.tiles').compareDocumentPosition(m.querySelector('circle.alert')) === Node.DOCUMENT_POSITION_FOLLOWING; }"));
            await Expect(page.Locator("#map-attribution")).ToContainTextAsync(ConsoleTileBrowser.Attribution);
            await Expect(page.Locator("#map-attribution")).ToContainTextAsync(language.StartsWith("fr", StringComparison.Ordinal) ? "Fond de carte" : "Map tiles");

            // Drawn, not only asked for: the tiles' green fills most of the map (the dots and their white rims the rest).
            var share = await WaitForColourShareAsync(page, ConsoleTileBrowser.TileColour, s => s > 0.8);
            Assert.True(share > 0.8, $"the tiles' colour covers {share:P0} of the map");
            await ConsoleBrowser.AssertNoHorizontalOverflowAsync(page, "map with tiles " + language);
            await ConsoleBrowser.ScreenshotAsync(page, $"map-tiles-{language[..2]}-{(width < 600 ? "phone" : "desktop")}");
            await page.Context.CloseAsync();
        }
    }

    [Fact]
    public async Task MapPage_TileServerFailing_DotsStayOnTheBackgroundAndOpenTheAlert()
    {
        console.Failing = true;
        try
        {
            var (district, id) = await PlaceAsync();
            var expected = ExpectedCover();
            var page = await console.NewPageAsync();
            await ConsoleBrowser.LogInAsync(page, "olivia.operator");
            console.ClearRequests();
            await page.GotoAsync("/console/map");
            await console.WaitForTilesAsync(expected);

            await Expect(page.Locator("#map circle.dot:not(.alert) title", new PageLocatorOptions { HasTextString = "lamp-" + district })).ToHaveCountAsync(1);
            // No tile drawn: the plain background shows where they would be.
            var background = await WaitForColourShareAsync(page, (0xf4, 0xf6, 0xf8), s => s > 0.8);
            Assert.True(background > 0.8, $"the background covers {background:P0} of the map");
            Assert.Equal(0, await ConsoleBrowser.ColourShareAsync(page, page.Locator("#map"), ConsoleTileBrowser.TileColour));
            await ConsoleBrowser.ScreenshotAsync(page, "map-tiles-failing-en-desktop");

            await page.Locator($"#map a[href='/console/alerts/{id}'] circle.alert").ClickAsync();
            // Waits for the alert page to show, not for its load event: on a loaded machine that event once did not come within 60 s.
            await Expect(page).ToHaveURLAsync(new Regex($"/console/alerts/{Regex.Escape(id)}$"), new PageAssertionsToHaveURLOptions { Timeout = ConsoleBrowser.Timeout });
            await Expect(page.Locator("#alert-state")).ToBeVisibleAsync(new LocatorAssertionsToBeVisibleOptions { Timeout = ConsoleBrowser.Timeout });
            await page.Context.CloseAsync();
        }
        finally
        {
            console.Failing = false;
        }
    }

    /// <summary>A forced door with a position and a lamp beside it, in a district of their own.</summary>
    private async Task<(string District, string AlertId)> PlaceAsync()
    {
        var (district, id) = await console.RaiseDoorAlertAsync();
        await console.PlaceDoorAndLampAsync(district);
        return (district, id);
    }

    /// <summary>The tiles that cover every placed device of the worker (all tests place theirs at the same two spots).</summary>
    private HashSet<string> ExpectedCover()
    {
        var placed = console.Worker.Services.GetRequiredService<DeviceRegistry>().Devices
            .Where(d => d.Lat is not null && d.Lon is not null)
            .Select(d => new GeoPoint(d.Lat!.Value, d.Lon!.Value))
            .ToList();
        var view = TileView.Fit(placed, MapModel.Width, MapModel.Height, MapModel.Margin, MapModel.MinZoom, 19);
        return [.. view.Cover().Select(t => $"{t.Z}/{t.X}/{t.Y}")];
    }

    /// <summary>Images paint a little after they arrive: the share once <paramref name="enough"/> holds, or the last one seen after 60 s.</summary>
    private static async Task<double> WaitForColourShareAsync(IPage page, (int R, int G, int B) colour, Func<double, bool> enough)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(60);
        double share;
        do
        {
            share = await ConsoleBrowser.ColourShareAsync(page, page.Locator("#map"), colour);
        }
        while (!enough(share) && DateTimeOffset.UtcNow < deadline);
        return share;
    }
}

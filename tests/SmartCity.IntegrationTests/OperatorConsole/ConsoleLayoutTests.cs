using Microsoft.Playwright;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using static Microsoft.Playwright.Assertions;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// The main views in French and English, on a desktop and on a phone (390 x 844): each is saved as a
/// screenshot under artifacts/test-results/screenshots/ and checked: nothing wider than the screen,
/// the key elements visible, the words in the chosen language, the language switch remembered.
/// </summary>
public sealed class ConsoleLayoutTests(ConsoleBrowser console) : IClassFixture<ConsoleBrowser>
{
    public static TheoryData<string, int, int> Screens => new()
    {
        { "en", 1280, 800 },
        { "fr", 1280, 800 },
        { "en", 390, 844 },
        { "fr", 390, 844 },
    };

    [Theory]
    [MemberData(nameof(Screens))]
    public async Task MainViews_LanguageAndScreen_FitAndSpeakTheLanguage(string language, int width, int height)
    {
        var (district, id) = await console.RaiseDoorAlertAsync();
        var page = await console.NewPageAsync(language == "fr" ? "fr-FR" : "en-US", width, height);
        var suffix = $"{language}-{(width < 600 ? "phone" : "desktop")}";
        var fr = language == "fr";

        await page.GotoAsync("/console/login");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", language);
        await Expect(page.Locator("h1")).ToHaveTextAsync(fr ? "Connexion" : "Log in");
        await Expect(page.Locator("#login-submit")).ToBeVisibleAsync();
        await ConsoleBrowser.AssertNoHorizontalOverflowAsync(page, "login " + suffix);
        await ConsoleBrowser.ScreenshotAsync(page, "login-" + suffix);

        await ConsoleBrowser.LogInAsync(page, "olivia.operator");
        await page.GotoAsync($"/console/alerts?district={district}");
        await Expect(page.Locator("h1")).ToHaveTextAsync(fr ? "Alertes" : "Alerts");
        await Expect(page.Locator($"tr[data-alert-id='{id}']")).ToBeVisibleAsync();
        await Expect(page.Locator($"tr[data-alert-id='{id}'] .badge")).ToHaveTextAsync(fr ? "critique" : "critical");
        await Expect(page.Locator("#live-status.on")).ToHaveTextAsync(fr ? "En direct" : "Live");
        await Expect(page.Locator("#f-severity")).ToBeVisibleAsync();
        await ConsoleBrowser.AssertNoHorizontalOverflowAsync(page, "alerts " + suffix);
        await ConsoleBrowser.ScreenshotAsync(page, "alerts-" + suffix);

        await page.ClickAsync($"tr[data-alert-id='{id}'] a");
        await Expect(page.Locator("#alert-state")).ToHaveTextAsync(fr ? "levée" : "raised");
        await Expect(page.Locator("#acknowledge")).ToHaveTextAsync(fr ? "Prendre en compte" : "Acknowledge");
        await Expect(page.Locator("#history")).ToBeVisibleAsync();
        await ConsoleBrowser.AssertNoHorizontalOverflowAsync(page, "alert " + suffix);
        await ConsoleBrowser.ScreenshotAsync(page, "alert-detail-" + suffix);

        await page.GotoAsync("/console/devices");
        await Expect(page.Locator("h1")).ToHaveTextAsync(fr ? "Équipements" : "Devices");
        await Expect(page.Locator("#devices-online")).ToContainTextAsync("door-" + district);
        await ConsoleBrowser.AssertNoHorizontalOverflowAsync(page, "devices " + suffix);
        await ConsoleBrowser.ScreenshotAsync(page, "devices-" + suffix);

        // The switch on the page wins over the browser's language, and is remembered.
        var other = fr ? "en" : "fr";
        await page.ClickAsync($"form.lang button[value='{other}']");
        await Expect(page.Locator("html")).ToHaveAttributeAsync("lang", other);
        await page.GotoAsync("/console/alerts");
        await Expect(page.Locator("h1")).ToHaveTextAsync(fr ? "Alerts" : "Alertes");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AlertsPage_Keyboard_ReachesFiltersAndAlertLinks()
    {
        var (district, id) = await console.RaiseDoorAlertAsync();
        var page = await console.LoggedInPageAsync("olivia.operator");
        await page.GotoAsync($"/console/alerts?district={district}");
        await Expect(page.Locator($"tr[data-alert-id='{id}']")).ToBeVisibleAsync();
        await page.Locator("#live-status.on").WaitForAsync();

        // Tab from the top: the skip link first, then every control in order; the alert's link is reached and opens with Enter.
        var reached = new List<string>();
        for (var i = 0; i < 30; i++)
        {
            await page.Keyboard.PressAsync("Tab");
            var focused = await page.EvaluateAsync<string>("() => { const e = document.activeElement; return e.tagName + '|' + (e.id || e.getAttribute('href') || e.textContent.trim()); }");
            reached.Add(focused);
            if (focused.Contains($"/console/alerts/{id}", StringComparison.Ordinal))
            {
                break;
            }
        }

        Assert.StartsWith("A|#main", reached[0], StringComparison.Ordinal);
        Assert.Contains(reached, r => r.StartsWith("SELECT|f-severity", StringComparison.Ordinal));
        Assert.Contains($"/console/alerts/{id}", reached[^1], StringComparison.Ordinal);
        await page.Keyboard.PressAsync("Enter");
        await ConsoleBrowser.WaitForUrlAsync(page, ConsoleBrowser.AlertsPath(id));
        await Expect(page.Locator("label[for='ack-comment']")).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task MapPage_DevicesWithPositions_PlotsThemAndOpenAlertsInRedWithoutTiles()
    {
        var (district, id) = await console.RaiseDoorAlertAsync();
        await console.PlaceDoorAndLampAsync(district);

        foreach (var (language, width, height) in new[] { ("fr-FR", 390, 844), ("en-GB", 1280, 800) })
        {
            var page = await console.NewPageAsync(language, width, height);
            await ConsoleBrowser.LogInAsync(page, "olivia.operator");
            await page.GotoAsync("/console/map");
            await Expect(page.Locator("#map")).ToBeVisibleAsync();
            await Expect(page.Locator($"#map a[href='/console/alerts/{id}'] circle.alert")).ToHaveCountAsync(1);
            await Expect(page.Locator("#map circle.dot:not(.alert) title", new PageLocatorOptions { HasTextString = "lamp-" + district })).ToHaveCountAsync(1);
            // No Console:TileUrl: nothing is fetched and no tile source is named.
            await Expect(page.Locator("#map image")).ToHaveCountAsync(0);
            await Expect(page.Locator("#map-attribution")).ToHaveCountAsync(0);
            await ConsoleBrowser.AssertNoHorizontalOverflowAsync(page, "map " + language);
            await ConsoleBrowser.ScreenshotAsync(page, $"map-{language[..2]}-{(width < 600 ? "phone" : "desktop")}");
            await page.Context.CloseAsync();
        }
    }
}

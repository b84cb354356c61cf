using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using SmartCity.IntegrationTests.OperatorConsole;

namespace SmartCity.IntegrationTests.OpenData;

/// <summary>
/// The public page in a real headless Chromium (Debian's, as the console tests): no login, French and
/// English, every figure shown equal to the JSON export, screenshots under artifacts/test-results/screenshots.
/// </summary>
[Collection(OpenDataWeekFixture.Name)]
public sealed class OpenDataPageTests(OpenDataWeek week) : IAsyncLifetime
{
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public async Task InitializeAsync()
    {
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        Directory.CreateDirectory(ConsoleBrowser.ScreenshotDirectory);
    }

    [Theory]
    [InlineData("fr-FR", "fr", 1280)]
    [InlineData("en-GB", "en", 1280)]
    [InlineData("fr-FR", "fr", 390)]
    public async Task Page_Anonymous_ShowsEveryExportedFigureInTheBrowsersLanguage(string locale, string language, int width)
    {
        var page = await NewPageAsync(locale, width);

        var response = await page.GotoAsync("/open-data");

        Assert.Equal(200, response!.Status);
        Assert.Equal(language, await page.GetAttributeAsync("html", "lang"));
        Assert.Equal(language == "fr" ? "Données ouvertes de la ville" : "City open data", await page.InnerTextAsync("h1"));
        await AssertFiguresEqualExportsAsync(page);
        await ConsoleBrowser.AssertNoHorizontalOverflowAsync(page, $"open data {language} {width}px");
        await ConsoleBrowser.ScreenshotAsync(page, $"open-data-{language}-{width}");
    }

    [Fact]
    public async Task Page_LanguageSwitcher_FrenchPageToEnglishAndBack()
    {
        var page = await NewPageAsync("fr-FR", 1280);
        await page.GotoAsync("/open-data");

        await page.ClickAsync("nav a[hreflang=en]");
        await ConsoleBrowser.WaitForUrlAsync(page, new Regex(@"/open-data\?lang=en$"));
        Assert.Equal("en", await page.GetAttributeAsync("html", "lang"));
        Assert.Equal("Street-lighting outages per district", await page.InnerTextAsync("#lighting-outages h2"));

        await page.ClickAsync("nav a[hreflang=fr]");
        await ConsoleBrowser.WaitForUrlAsync(page, new Regex(@"/open-data\?lang=fr$"));
        Assert.Equal("Pannes de l'éclairage public par quartier", await page.InnerTextAsync("#lighting-outages h2"));
    }

    /// <summary>Each table cell's value (data-value) and shown text against the dataset's JSON export, row by row.</summary>
    private async Task AssertFiguresEqualExportsAsync(IPage page)
    {
        using var client = week.Worker.CreateClient(null);
        var french = await page.GetAttributeAsync("html", "lang") == "fr";
        foreach (var dataset in new[] { "lighting-outages", "lighting-energy", "school-air", "service-status" })
        {
            var rows = (await client.GetFromJsonAsync<JsonElement>($"/open-data/{dataset}.json")).GetProperty("rows").EnumerateArray().ToList();
            Assert.NotEmpty(rows);
            var shown = await page.EvalOnSelectorAllAsync<string[][]>($"#{dataset} tbody tr",
                "rows => rows.map(r => Array.from(r.cells).map(c => c.dataset.column + '=' + c.dataset.value + '=' + c.innerText))");
            Assert.Equal(rows.Count, shown.Length);
            foreach (var (row, cells) in rows.Zip(shown))
            {
                var expected = row.EnumerateObject().Select(p => p.Name + "=" + (p.Value.ValueKind switch
                {
                    JsonValueKind.Null => "",
                    JsonValueKind.String => p.Value.GetString(),
                    _ => p.Value.GetRawText(),
                })).ToList();
                Assert.Equal(expected, cells.Select(c => c[..c.LastIndexOf('=')]));
                foreach (var cell in cells)
                {
                    var parts = cell.Split('=');
                    // The text shown is the same number, written the language's way (decimal comma, grouping).
                    if (double.TryParse(parts[1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value))
                    {
                        var normalised = french ? parts[2].Replace("\u202F", "", StringComparison.Ordinal).Replace(',', '.') : parts[2].Replace(",", "", StringComparison.Ordinal);
                        Assert.Equal(value, double.Parse(normalised, System.Globalization.CultureInfo.InvariantCulture), 3);
                    }
                }
            }
        }
    }

    private async Task<IPage> NewPageAsync(string locale, int width)
    {
        var context = await _browser!.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = week.Worker.BaseAddress.ToString().TrimEnd('/'),
            Locale = locale,
            ViewportSize = new ViewportSize { Width = width, Height = 800 },
        });
        context.SetDefaultTimeout(ConsoleBrowser.Timeout);
        return await context.NewPageAsync();
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}

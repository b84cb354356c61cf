using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.OperatorConsole;
using SmartCity.OperatorConsole.Accounts;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// One real worker (real broker, real InfluxDB) and one headless Chromium for a test class: Debian's
/// chromium driven by Playwright through its executable path, so nothing is downloaded. Accounts are
/// made in the worker's own account store, as <c>console add-user</c> does.
/// </summary>
public sealed class ConsoleBrowser : IAsyncLifetime
{
    public const string Password = "correct-horse-battery-7";
    public const int MaxFailedLogins = 3;

    /// <summary>Generous: a loaded 2-core CI machine runs other workers beside this one.</summary>
    public const float Timeout = 60_000;

    public static readonly string ScreenshotDirectory = Path.Combine(RepositoryFiles.Root, "artifacts", "test-results", "screenshots");

    private InfluxTestDatabase? _db;
    private TestWorker? _worker;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public TestWorker Worker => _worker!;

    public IBrowser Browser => _browser!;

    public AccountStore Accounts => Worker.Services.GetRequiredService<AccountStore>();

    public async Task InitializeAsync()
    {
        _db = await InfluxTestDatabase.CreateAsync();
        _worker = await TestWorker.StartAsync(_db, overrides: new Dictionary<string, string?>
        {
            ["Console:MaxFailedLogins"] = MaxFailedLogins.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Console:GrafanaUrl"] = "http://grafana.city.test:3000",
        });
        Accounts.SetAccount("olivia.operator", ConsoleRoles.Operator, Password);
        Accounts.SetAccount("oscar.operator", ConsoleRoles.Operator, Password);
        Accounts.SetAccount("victor.viewer", ConsoleRoles.Viewer, Password);
        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = "/usr/bin/chromium",
            Headless = true,
            Args = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"],
        });
        Directory.CreateDirectory(ScreenshotDirectory);
    }

    /// <summary>A browser session of its own (cookies, language, screen size).</summary>
    public async Task<IPage> NewPageAsync(string locale = "en-GB", int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Worker.BaseAddress.ToString().TrimEnd('/'),
            Locale = locale,
            ViewportSize = new ViewportSize { Width = width, Height = height },
        });
        context.SetDefaultTimeout(Timeout);
        return await context.NewPageAsync();
    }

    /// <summary>A forced door in a district of its own (a door of its own too: the worker is shared); returns both.</summary>
    public async Task<(string District, string AlertId)> RaiseDoorAlertAsync()
    {
        var district = TestServers.UniqueName("d");
        return (district, await ApiTestKit.RaiseDoorForcedAsync(Worker, district, "door-" + district));
    }

    /// <summary>A new session of <paramref name="name"/>, logged in, on the alerts page.</summary>
    public async Task<IPage> LoggedInPageAsync(string name, string locale = "en-GB")
    {
        var page = await NewPageAsync(locale);
        await LogInAsync(page, name);
        return page;
    }

    /// <summary>Logs in through the login page and waits for the alerts page.</summary>
    public static async Task LogInAsync(IPage page, string name, string password = Password)
    {
        await page.GotoAsync("/console/alerts");
        await page.FillAsync("#name", name);
        await page.FillAsync("#password", password);
        await page.ClickAsync("#login-submit");
        await page.WaitForURLAsync("**/console/alerts**");
    }

    /// <summary>The layout fits the screen: nothing wider than the window (no sideways scrolling on a phone).</summary>
    public static async Task AssertNoHorizontalOverflowAsync(IPage page, string view)
    {
        var (scroll, inner) = (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("() => window.innerWidth"));
        Assert.True(scroll <= inner, $"{view}: the page is {scroll} px wide in a {inner} px window");
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (_worker is not null)
        {
            await _worker.DisposeAsync();
        }

        if (_db is not null)
        {
            await _db.DisposeAsync();
        }
    }
}

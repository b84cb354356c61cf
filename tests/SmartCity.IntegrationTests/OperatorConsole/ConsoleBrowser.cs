using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.OperatorConsole;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Devices.Registry;
using static Microsoft.Playwright.Assertions;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// One real worker (real broker, real InfluxDB) and one headless Chromium for a test class: Debian's
/// chromium driven by Playwright through its executable path, so nothing is downloaded. Accounts are
/// made in the worker's own account store, as <c>console add-user</c> does.
/// </summary>
public class ConsoleBrowser : IAsyncLifetime
{
    public const string Password = "correct-horse-battery-7";
    public const int MaxFailedLogins = 3;

    /// <summary>
    /// Generous: a loaded 2-core CI machine runs other workers beside this one (a first login, with the
    /// console's pages compiled on first use and the password hash, once took over 60 s in a clean-clone run).
    /// </summary>
    public const float Timeout = 120_000;

    public static readonly string ScreenshotDirectory = Path.Combine(RepositoryFiles.Root, "artifacts", "test-results", "screenshots");

    private InfluxTestDatabase? _db;
    private TestWorker? _worker;
    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public TestWorker Worker => _worker!;

    public IBrowser Browser => _browser!;

    public AccountStore Accounts => Worker.Services.GetRequiredService<AccountStore>();

    public virtual async Task InitializeAsync()
    {
        _db = await InfluxTestDatabase.CreateAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Console:MaxFailedLogins"] = MaxFailedLogins.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Console:GrafanaUrl"] = "http://grafana.city.test:3000",
        };
        AddWorkerSettings(settings);
        _worker = await TestWorker.StartAsync(_db, overrides: settings);
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

    /// <summary>A fixture for other console settings (tiles...) adds them here.</summary>
    protected virtual void AddWorkerSettings(Dictionary<string, string?> settings)
    {
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

    /// <summary>
    /// The district's door says where it is (a birth with a position, in Lyon), and so does a lamp
    /// nearby with no alert; returns when the registry holds both positions.
    /// </summary>
    public async Task PlaceDoorAndLampAsync(string district)
    {
        await using (var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("map-"), CancellationToken.None))
        {
            var ts = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
            await BirthAsync(publisher, $"{Worker.TopicRoot}/security/{district}/town-hall/door_contact/door-{district}/status",
                $$"""{"v":1,"ts":"{{ts}}","online":true,"profile":"door_contact","district":"{{district}}","site":"town-hall","lat":45.7640,"lon":4.8357}""");
            await BirthAsync(publisher, $"{Worker.TopicRoot}/lighting/{district}/main-street/streetlight/lamp-{district}/status",
                $$"""{"v":1,"ts":"{{ts}}","online":true,"profile":"streetlight","district":"{{district}}","site":"main-street","lat":45.7655,"lon":4.8390}""");
        }

        var registry = Worker.Services.GetRequiredService<DeviceRegistry>();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (registry.Devices.Count(d => d.District == district && d.Lat is not null) < 2)
        {
            var next = Worker.Metrics.NextProgressAsync(TimeSpan.FromSeconds(60));
            if (registry.Devices.Count(d => d.District == district && d.Lat is not null) >= 2)
            {
                break;
            }

            await next.WaitAsync(deadline.Token);
        }
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
        await WaitForUrlAsync(page, AlertsPath());
    }

    /// <summary>The alerts list or an alert's page (the path, not a ReturnUrl naming it).</summary>
    public static Regex AlertsPath(string? id = null) => new(id is null ? "^[^?]*/console/alerts" : $"^[^?]*/console/alerts/{Regex.Escape(id)}$");

    /// <summary>
    /// Waits for the page to be at <paramref name="url"/> after a click or key that navigates. Not WaitForURLAsync: it
    /// checks the URL, then starts listening for the navigation, and one committed in between (a loaded machine) is
    /// never heard, so it waited out its 120 s in a full run. The assertion polls the URL instead.
    /// </summary>
    public static Task WaitForUrlAsync(IPage page, Regex url) =>
        Expect(page).ToHaveURLAsync(url, new PageAssertionsToHaveURLOptions { Timeout = Timeout });

    /// <summary>The layout fits the screen: nothing wider than the window (no sideways scrolling on a phone).</summary>
    public static async Task AssertNoHorizontalOverflowAsync(IPage page, string view)
    {
        var (scroll, inner) = (await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth"), await page.EvaluateAsync<int>("() => window.innerWidth"));
        Assert.True(scroll <= inner, $"{view}: the page is {scroll} px wide in a {inner} px window");
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    /// <summary>The share of <paramref name="element"/>'s on-screen pixels within a few units of the colour <paramref name="rgb"/>.</summary>
    public static async Task<double> ColourShareAsync(IPage page, ILocator element, (int R, int G, int B) rgb)
    {
        var png = Convert.ToBase64String(await element.ScreenshotAsync());
        // Decoded in the page itself (a data: image is allowed by the console's CSP and does not taint the canvas).
        return await page.EvaluateAsync<double>(
            """
            async ([png, r, g, b]) => {
              const img = new Image(); img.src = 'data:image/png;base64,' + png; await img.decode();
              const canvas = document.createElement('canvas'); canvas.width = img.width; canvas.height = img.height;
              const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
              const d = ctx.getImageData(0, 0, img.width, img.height).data;
              let n = 0;
              for (let i = 0; i < d.length; i += 4) if (Math.abs(d[i] - r) < 6 && Math.abs(d[i + 1] - g) < 6 && Math.abs(d[i + 2] - b) < 6) n++;
              return n / (d.length / 4);
            }
            """,
            new object[] { png, rgb.R, rgb.G, rgb.B });
    }

    public virtual async Task DisposeAsync()
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

    private static Task BirthAsync(MqttPublisher publisher, string topic, string json) =>
        publisher.PublishAsync(topic, Encoding.UTF8.GetBytes(json), MqttQualityOfServiceLevel.AtLeastOnce, true, CancellationToken.None);
}

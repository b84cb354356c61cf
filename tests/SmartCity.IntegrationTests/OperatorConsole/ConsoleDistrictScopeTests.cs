using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.OperatorConsole;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using static Microsoft.Playwright.Assertions;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>
/// Issue 21, console accounts scoped to districts (the scope of district API keys): in a real headless
/// Chromium against the real worker, an account of district A sees A's alerts, devices and map dots and
/// nothing of district B; B's alert page and a forged acknowledgement of B's alert are answered 404,
/// as an alert that does not exist, never 403.
/// </summary>
public sealed class ConsoleDistrictScopeTests(ConsoleBrowser console) : IClassFixture<ConsoleBrowser>
{
    [Fact]
    public async Task Pages_DistrictAccount_ShowOnlyItsDistrictsAlertsDevicesAndDots()
    {
        var (mine, myAlert) = await console.RaiseDoorAlertAsync();
        var (theirs, theirAlert) = await console.RaiseDoorAlertAsync();
        await console.PlaceDoorAndLampAsync(mine);
        await console.PlaceDoorAndLampAsync(theirs);
        var name = TestServers.UniqueName("dana.");
        console.Accounts.SetAccount(name, ConsoleRoles.Operator, ConsoleBrowser.Password, districts: [mine]);
        var page = await console.LoggedInPageAsync(name);

        // Alerts: the shared worker holds every test's alerts; this account sees its district's one only,
        // and the district filter does not even name the other districts.
        await page.GotoAsync("/console/alerts");
        await Expect(page.Locator($"tr[data-alert-id='{myAlert}']")).ToHaveCountAsync(1);
        await Expect(page.Locator("tr.alert-row")).ToHaveCountAsync(1);
        Assert.DoesNotContain(theirs, await page.ContentAsync(), StringComparison.Ordinal);

        // Its own alert's page opens; the other district's is a page that does not exist.
        Assert.Equal(200, (await page.GotoAsync($"/console/alerts/{myAlert}"))!.Status);
        await Expect(page.Locator("#acknowledge")).ToHaveCountAsync(1);
        Assert.Equal(404, (await page.GotoAsync($"/console/alerts/{theirAlert}"))!.Status);
        Assert.DoesNotContain(theirs, await page.ContentAsync(), StringComparison.Ordinal);

        // Devices and map: its district's door and lamp, nothing of the other district.
        await page.GotoAsync("/console/devices");
        await Expect(page.GetByText($"door-{mine}", new() { Exact = true })).ToHaveCountAsync(1);
        await Expect(page.GetByText($"lamp-{mine}", new() { Exact = true })).ToHaveCountAsync(1);
        Assert.DoesNotContain(theirs, await page.ContentAsync(), StringComparison.Ordinal);
        await page.GotoAsync("/console/map");
        await Expect(page.Locator("circle.dot")).ToHaveCountAsync(2);
        await Expect(page.Locator("circle.dot.alert title")).ToHaveTextAsync($"door-{mine}");
        Assert.DoesNotContain(theirs, await page.ContentAsync(), StringComparison.Ordinal);
        await ConsoleBrowser.ScreenshotAsync(page, "map-district-account-en");

        // The same pages with an account of the whole city show both districts (the scope is what hides them).
        var everything = await console.LoggedInPageAsync("olivia.operator");
        await everything.GotoAsync("/console/map");
        await Expect(everything.Locator($"circle.dot.alert title", new() { HasTextString = $"door-{theirs}" })).ToHaveCountAsync(1);
        await page.Context.CloseAsync();
        await everything.Context.CloseAsync();
    }

    [Fact]
    public async Task LiveEvents_DistrictAccount_CarryOnlyItsDistrictsChanges()
    {
        var mine = TestServers.UniqueName("d");
        var theirs = TestServers.UniqueName("d");
        var name = TestServers.UniqueName("dana.");
        console.Accounts.SetAccount(name, ConsoleRoles.Viewer, ConsoleBrowser.Password, districts: [mine]);
        var page = await console.LoggedInPageAsync(name);
        // The page's own event stream, read by a listener of the test's: resolved once subscribed ("hello").
        await page.EvaluateAsync("""
            () => new Promise(resolve => {
              window.seen = [];
              const events = new EventSource('/console/events');
              events.addEventListener('alert', e => window.seen.push(JSON.parse(e.data)));
              events.addEventListener('hello', () => resolve(true));
            })
            """);

        // The other district's alert first: the feed keeps the engine's order, so had it passed the
        // scope it would be in the stream before this account's own.
        await ApiTestKit.RaiseDoorForcedAsync(console.Worker, theirs, "door-" + theirs);
        var own = await ApiTestKit.RaiseDoorForcedAsync(console.Worker, mine, "door-" + mine);
        await page.WaitForFunctionAsync("id => window.seen.some(c => c.id === id)", own, new() { Timeout = ConsoleBrowser.Timeout });
        var districts = await page.EvaluateAsync<string[]>("() => window.seen.map(c => c.district)");
        Assert.All(districts, d => Assert.Equal(mine, d));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Pages_AccountOfAnotherCity_SeeNothingOfThisWorker()
    {
        var (district, id) = await console.RaiseDoorAlertAsync();
        await console.PlaceDoorAndLampAsync(district);
        var name = TestServers.UniqueName("otto.");
        // The fixture's worker serves no city (no Tenancy:City): an account of a city is not its account.
        console.Accounts.SetAccount(name, ConsoleRoles.Operator, ConsoleBrowser.Password, city: "another-city");
        var page = await console.LoggedInPageAsync(name);
        await Expect(page.Locator("tr.alert-row")).ToHaveCountAsync(0);
        Assert.Equal(404, (await page.GotoAsync($"/console/alerts/{id}"))!.Status);
        await page.GotoAsync("/console/devices");
        Assert.DoesNotContain(district, await page.ContentAsync(), StringComparison.Ordinal);
        await page.GotoAsync("/console/map");
        await Expect(page.Locator("circle.dot")).ToHaveCountAsync(0);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task AcknowledgePost_DistrictAccountOnAnotherDistrictsAlert_NotFoundLikeAnUnknownAlert()
    {
        var (mine, _) = await console.RaiseDoorAlertAsync();
        var (_, theirAlert) = await console.RaiseDoorAlertAsync();
        var name = TestServers.UniqueName("dana.");
        console.Accounts.SetAccount(name, ConsoleRoles.Operator, ConsoleBrowser.Password, districts: [mine]);
        var page = await console.LoggedInPageAsync(name);

        // A hand-made POST with the account's own session and a valid CSRF token (from the logout form).
        var token = await page.Locator("form[action='/console/logout'] input[name='__RequestVerificationToken']").GetAttributeAsync("value");
        async Task<int> AcknowledgeAsync(string id)
        {
            var form = page.APIRequest.CreateFormData();
            form.Set("__RequestVerificationToken", token!);
            form.Set("comment", "not my district");
            return (await page.APIRequest.PostAsync($"/console/alerts/{id}/acknowledge", new APIRequestContextOptions { Form = form, MaxRedirects = 0 })).Status;
        }

        Assert.Equal(404, await AcknowledgeAsync(theirAlert));
        Assert.Equal(404, await AcknowledgeAsync(TestServers.UniqueName("no-such-alert-")));
        var alert = await console.Worker.Services.GetRequiredService<AlertingService>().FindAsync(theirAlert);
        Assert.Equal(AlertState.Raised, alert!.State);
        Assert.Null(alert.AcknowledgedBy);
        await page.Context.CloseAsync();
    }
}

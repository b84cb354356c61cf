using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.IntegrationTests.Lighting;
using SmartCity.OperatorConsole;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Lighting;
using static Microsoft.Playwright.Assertions;

namespace SmartCity.IntegrationTests.OperatorConsole;

/// <summary>The console's worker with a confirmation timeout a test can wait out (a lamp that ignores a command is seen in seconds, not minutes).</summary>
public sealed class ConsoleLightingBrowser : ConsoleBrowser
{
    /// <summary>
    /// Long enough for a lamp that follows to be confirmed on a loaded machine (its answer takes well under a
    /// second), short enough for the test of a lamp that does not.
    /// </summary>
    public const string ConfirmTimeout = "00:00:20";

    protected override void AddWorkerSettings(Dictionary<string, string?> settings)
    {
        settings["Lighting:ConfirmTimeout"] = ConfirmTimeout;
        settings["Lighting:TickInterval"] = "00:00:00.200";
    }
}

/// <summary>
/// Issue 27 in the console: in a real headless Chromium against the real worker and broker, an operator commands
/// lamps from the lighting page through the lighting service; simulated lamps on the broker (<see cref="TestLamps"/>)
/// follow or ignore the command and the page shows confirmed or not followed (with one command_not_followed
/// alert); a viewer's or a token-less post is refused, and a district account reaches only its districts.
/// </summary>
public sealed class ConsoleLightingTests(ConsoleLightingBrowser console) : IClassFixture<ConsoleLightingBrowser>
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private async Task<(TestLamps Lamps, string District, string Lamp)> LampAsync(LampBehaviour behaviour)
    {
        var district = TestServers.UniqueName("d");
        var lamp = TestServers.UniqueName("lamp-");
        var lamps = new TestLamps(console.Worker.TopicRoot, district, TimeProvider.System);
        await lamps.ConnectAsync();
        await lamps.AddAsync("main-street", lamp, behaviour);
        await LightingControlTests.KnownAsync(console.Worker, lamp);
        return (lamps, district, lamp);
    }

    private static async Task SendAsync(IPage page, string targetKind, string target, string action, string reason, int? dimPct = null, int? minutes = null)
    {
        await page.GotoAsync("/console/lighting");
        await page.SelectOptionAsync("#target-kind", targetKind);
        await page.FillAsync("#target", target);
        await page.CheckAsync("#action-" + action);
        if (dimPct is { } d)
        {
            await page.FillAsync("#dim-pct", d.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (minutes is { } m)
        {
            await page.SelectOptionAsync("#duration", m.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await page.FillAsync("#reason", reason);
        await page.ClickAsync("#send-command");
        await page.WaitForURLAsync("**/console/lighting?command=**");
    }

    private static ILocator StateOf(IPage page, string lamp) => page.Locator($"tr.lamp-command[data-device-id='{lamp}'] .command-state");

    private LampCommand[] History(string lamp) =>
        [.. console.Worker.Services.GetRequiredService<LightingService>().History(c => c.DeviceId == lamp, 100)];

    [Fact]
    public async Task CommandForm_LampFollows_SentThroughLightingServiceAndShownConfirmed()
    {
        var (lamps, _, lamp) = await LampAsync(LampBehaviour.Ack);
        await using var _ = lamps;
        var page = await console.LoggedInPageAsync("olivia.operator");

        await SendAsync(page, "lamp", lamp, "dim", "street market", dimPct: 40, minutes: 120);

        // The lamp got the level on its cmd topic, and the page turns the command confirmed by itself (no reload).
        await lamps.WaitAsync(() => lamps.Received(lamp).Count > 0, Timeout);
        Assert.Equal(40, lamps.Received(lamp)[0].GetProperty("dim_pct").GetDouble());
        await Expect(StateOf(page, lamp)).ToHaveTextAsync("confirmed", new() { Timeout = ConsoleBrowser.Timeout });
        var command = Assert.Single(History(lamp));
        Assert.Equal(("olivia.operator", "street market", CommandStatus.Confirmed), (command.By, command.Reason, command.Status));
        // Two hours, the duration chosen (the lamp has no schedule whose step could come first).
        Assert.Equal(command.SentAt.AddHours(2), command.Until);
        await ConsoleBrowser.ScreenshotAsync(page, "lighting-confirmed-en");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task CommandForm_LampIgnoresIt_ShownNotFollowedWithOneAlert()
    {
        var (lamps, district, lamp) = await LampAsync(LampBehaviour.Ignore);
        await using var _ = lamps;
        var page = await console.LoggedInPageAsync("olivia.operator");

        await SendAsync(page, "district", district, "on", "cable repaired: check");
        await Expect(StateOf(page, lamp)).ToHaveTextAsync("pending", new() { Timeout = ConsoleBrowser.Timeout });

        // After Lighting:ConfirmTimeout the page says so, and the lamp has one command_not_followed alert.
        await Expect(StateOf(page, lamp)).ToHaveTextAsync("not followed", new() { Timeout = ConsoleBrowser.Timeout });
        using var client = console.Worker.CreateClient();
        await ApiTestKit.PollAsync(client, "/api/alerts?district=" + district, (status, body) =>
            status == System.Net.HttpStatusCode.OK && body.Contains(lamp, StringComparison.Ordinal) && body.Contains("command_not_followed", StringComparison.Ordinal));
        var alerting = console.Worker.Services.GetRequiredService<AlertingService>();
        var alert = Assert.Single(await alerting.AlertsAsync(), a => a.DeviceId == lamp && a.Rule == "command_not_followed");
        Assert.True(alert.IsOpen);
        Assert.Equal(CommandStatus.TimedOut, Assert.Single(History(lamp)).Status);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task CommandPost_ViewerOrWithoutToken_RefusedAndNothingSent()
    {
        var (lamps, _, lamp) = await LampAsync(LampBehaviour.Ack);
        await using var _ = lamps;

        // A viewer sees the commands but no form; a post forged with the viewer's own valid token is 403.
        var viewer = await console.LoggedInPageAsync("victor.viewer");
        await viewer.GotoAsync("/console/lighting");
        await Expect(viewer.Locator("#read-only")).ToHaveCountAsync(1);
        await Expect(viewer.Locator("#lighting-form")).ToHaveCountAsync(0);
        Assert.Equal(403, (await PostAsync(viewer, lamp, withToken: true)).Status);

        // An operator's session without the CSRF token (a post from another site) is refused too.
        var operatorPage = await console.LoggedInPageAsync("oscar.operator");
        Assert.Equal(400, (await PostAsync(operatorPage, lamp, withToken: false)).Status);
        Assert.Empty(History(lamp));

        // The same post with the token is a command: the refusals above were the role and the token, not the form.
        Assert.Equal(302, (await PostAsync(operatorPage, lamp, withToken: true)).Status);
        await lamps.WaitAsync(() => lamps.Received(lamp).Count > 0, Timeout);
        Assert.Equal("oscar.operator", Assert.Single(History(lamp)).By);
        await viewer.Context.CloseAsync();
        await operatorPage.Context.CloseAsync();
    }

    [Fact]
    public async Task CommandPost_DistrictAccount_CommandsOnlyItsDistricts()
    {
        var (mine, myDistrict, myLamp) = await LampAsync(LampBehaviour.Ack);
        await using var _ = mine;
        var (theirs, theirDistrict, theirLamp) = await LampAsync(LampBehaviour.Ack);
        await using var __ = theirs;
        var name = TestServers.UniqueName("dana.");
        console.Accounts.SetAccount(name, ConsoleRoles.Operator, ConsoleBrowser.Password, districts: [myDistrict]);
        var page = await console.LoggedInPageAsync(name);

        // Its own district through the form; the page offers nothing of the other district.
        await SendAsync(page, "district", myDistrict, "off", "night works");
        await Expect(StateOf(page, myLamp)).ToHaveTextAsync("confirmed", new() { Timeout = ConsoleBrowser.Timeout });
        Assert.DoesNotContain(theirDistrict, await page.ContentAsync(), StringComparison.Ordinal);

        // The other district's lamp, district and site (its name is shared by both districts) are refused as unknown.
        foreach (var (kind, target) in new[] { ("lamp", theirLamp), ("district", theirDistrict), ("site", "main-street") })
        {
            var (status, location) = await PostAsync(page, target, withToken: true, kind);
            Assert.Equal((302, $"/console/lighting?refused=unknown%20{kind}%20%27{target}%27"), (status, location));
        }

        Assert.Empty(History(theirLamp));
        Assert.Single(History(myLamp));
        await page.Context.CloseAsync();
    }

    /// <summary>A hand-made post of the form with the page's session (the token from the logout form, or none); the status and where it redirects (not followed).</summary>
    private static async Task<(int Status, string? Location)> PostAsync(IPage page, string target, bool withToken, string kind = "lamp")
    {
        await page.GotoAsync("/console/lighting");
        var form = page.APIRequest.CreateFormData();
        if (withToken)
        {
            form.Set("__RequestVerificationToken", (await page.Locator("form[action='/console/logout'] input[name='__RequestVerificationToken']").GetAttributeAsync("value"))!);
        }

        form.Set("targetKind", kind);
        form.Set("target", target);
        form.Set("action", "on");
        form.Set("reason", "forged");
        var response = await page.APIRequest.PostAsync("/console/lighting/commands", new APIRequestContextOptions { Form = form, MaxRedirects = 0 });
        return (response.Status, response.Headers.GetValueOrDefault("location"));
    }
}

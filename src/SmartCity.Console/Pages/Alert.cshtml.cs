using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.OperatorConsole.Security;
using SmartCity.OperatorConsole.Readings;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;

namespace SmartCity.OperatorConsole.Pages;

/// <summary>One alert: what, where, its history, the lamps it groups, the device's last readings, and the operator's actions.</summary>
public sealed class AlertModel(AlertingService alerting, IOptions<ConsoleOptions> options, DeviceReadings readings) : PageModel
{
    public Alert? Alert { get; private set; }

    /// <summary>Why the last action was refused (the engine's error name), from the redirect after the form.</summary>
    [BindProperty(SupportsGet = true)]
    public string? Refused { get; set; }

    public bool CanAct => User.IsInRole(ConsoleRoles.Operator) || User.IsInRole(ConsoleRoles.Admin);

    public ReadingsResult? Readings { get; private set; }

    /// <summary>The shipped dashboards' variables are district, site and device: the link opens the device's own panels.</summary>
    public string? GrafanaLink => Alert is { } a && options.Value.GrafanaUrl is { Length: > 0 } grafana
        ? $"{grafana.TrimEnd('/')}/d/{Uri.EscapeDataString(options.Value.GrafanaDashboards.GetValueOrDefault(a.Sector, "smartcity-overview"))}"
          + $"?var-district={Uri.EscapeDataString(a.District)}&var-site={Uri.EscapeDataString(a.Site)}&var-device={Uri.EscapeDataString(a.DeviceId)}"
        : null;

    public async Task<IActionResult> OnGetAsync(string id)
    {
        Alert = await FindAsync(id).ConfigureAwait(false);
        if (Alert is null)
        {
            Response.StatusCode = StatusCodes.Status404NotFound;
            return Page();
        }

        Readings = await readings.LastAsync(Alert.DeviceId, HttpContext.RequestAborted).ConfigureAwait(false);
        return Page();
    }

    /// <summary>The live part alone (state, history, actions), fetched again when the event stream names this alert.</summary>
    public async Task<IActionResult> OnGetLiveAsync(string id)
    {
        Alert = await FindAsync(id).ConfigureAwait(false);
        return Alert is null ? NotFound() : Partial("_AlertLive", this);
    }

    // Another city's or district's alert is one that does not exist (404), never a 403 that would confirm it.
    private async Task<Alert?> FindAsync(string id) =>
        await alerting.FindAsync(id, HttpContext.RequestAborted).ConfigureAwait(false) is { } alert && ConsoleAuth.Scope(HttpContext).Sees(alert) ? alert : null;
}

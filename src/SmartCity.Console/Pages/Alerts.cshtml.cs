using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SmartCity.OperatorConsole.Security;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;

namespace SmartCity.OperatorConsole.Pages;

/// <summary>
/// The alerts, newest first, filtered like the operator API (sector, district, severity, state; open by
/// default). The rows are a partial of their own: the page's script fetches them again when the event
/// stream says an alert changed.
/// </summary>
public sealed class AlertsModel(AlertingService alerting) : PageModel
{
    public static readonly string[] Severities = ["critical", "major", "minor", "warning"];
    public static readonly string[] States = ["open", "raised", "acknowledged", "resolved"];

    [BindProperty(SupportsGet = true)]
    public string? Sector { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? District { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? Severity { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? State { get; set; } = "open";

    public IReadOnlyList<Alert> Alerts { get; private set; } = [];

    public IReadOnlyList<string> Sectors { get; private set; } = [];

    public IReadOnlyList<string> Districts { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync().ConfigureAwait(false);

    public async Task<IActionResult> OnGetRowsAsync()
    {
        await LoadAsync().ConfigureAwait(false);
        return Partial("_AlertRows", this);
    }

    private async Task LoadAsync()
    {
        // Only the session's districts: their names in the filters too.
        var scope = ConsoleAuth.Scope(HttpContext);
        var all = (await alerting.AlertsAsync(HttpContext.RequestAborted).ConfigureAwait(false)).Where(scope.Sees).ToList();
        Sectors = [.. all.Select(a => a.Sector).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        Districts = [.. all.Select(a => a.District).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        Sector = Empty(Sector);
        District = Empty(District);
        Severity = Severities.Contains(Severity) ? Severity : null;
        State = States.Contains(State) ? State : State is null ? "open" : null;
        Alerts = [.. all.Where(Matches).OrderByDescending(a => a.RaisedAt)];
    }

    private bool Matches(Alert a) =>
        (State is null || (State == "open" ? a.IsOpen : Name(a.State) == State))
        && (Sector is null || a.Sector == Sector)
        && (District is null || a.District == District)
        && (Severity is null || Name(a.Severity) == Severity);

    /// <summary>The API's name of an enum value (<c>Acknowledged</c> is <c>acknowledged</c>).</summary>
    public static string Name<T>(T value)
        where T : struct, Enum
    {
        var text = value.ToString();
        return char.ToLowerInvariant(text[0]) + text[1..];
    }

    private static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}

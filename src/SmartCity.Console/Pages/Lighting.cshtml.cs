using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using SmartCity.OperatorConsole.Security;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.OperatorConsole.Pages;

/// <summary>
/// Street lighting: the command form (operators) and the commands of this account's districts, each lamp's
/// part with its confirmation state (pending, confirmed, not followed), refreshed while any is pending.
/// </summary>
public sealed class LightingModel(LightingService lighting, DeviceRegistry registry) : PageModel
{
    /// <summary>The commands shown, newest first.</summary>
    public const int Shown = 20;

    /// <summary>The command the form just sent (after its redirect), shown first.</summary>
    [BindProperty(SupportsGet = true)]
    public string? Command { get; set; }

    /// <summary>Why the form's command was not sent, from the redirect after it.</summary>
    [BindProperty(SupportsGet = true)]
    public string? Refused { get; set; }

    public bool CanAct => User.IsInRole(ConsoleRoles.Operator) || User.IsInRole(ConsoleRoles.Admin);

    /// <summary>Each command's lamps (newest command first), in this account's scope.</summary>
    public IReadOnlyList<IGrouping<string, LampCommand>> Commands { get; private set; } = [];

    public IReadOnlyList<string> Lamps { get; private set; } = [];

    public IReadOnlyList<string> Sites { get; private set; } = [];

    public IReadOnlyList<string> Districts { get; private set; } = [];

    public bool AnyPending => Commands.Any(c => c.Any(l => l.Status == CommandStatus.Pending));

    public void OnGet()
    {
        Load();
        var lamps = registry.Devices.Where(ConsoleAuth.Scope(HttpContext).Sees).Where(d => d.Sector == "lighting").ToList();
        Lamps = [.. lamps.Select(d => d.DeviceId).Order(StringComparer.Ordinal)];
        Sites = [.. lamps.Select(d => d.Site).Distinct().Order(StringComparer.Ordinal)];
        Districts = [.. lamps.Select(d => d.District).Distinct().Order(StringComparer.Ordinal)];
    }

    /// <summary>The commands alone, fetched again by the page while one is pending.</summary>
    public IActionResult OnGetLive()
    {
        Load();
        return Partial("_LightingCommands", this);
    }

    /// <summary>How the page names a lamp command's state: a refused or timed-out one is "not followed" (and raised an alert).</summary>
    public static string StateOf(LampCommand command) => command.Status switch
    {
        CommandStatus.Pending => "pending",
        CommandStatus.Confirmed => "confirmed",
        CommandStatus.Superseded => "superseded",
        _ => "not_followed",
    };

    private void Load()
    {
        var scope = ConsoleAuth.Scope(HttpContext);
        var history = lighting.History(c => scope.SeesDistrict(c.District), lighting.Options.HistoryLimit);
        var groups = history.GroupBy(c => c.CommandId).ToList();
        // The command just sent first, then the newest others.
        Commands = [.. groups.Where(g => g.Key == Command), .. groups.Where(g => g.Key != Command).Take(Shown)];
    }
}

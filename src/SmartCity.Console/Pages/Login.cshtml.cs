using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.OperatorConsole.Security;
using SmartCity.OperatorConsole.Live;

namespace SmartCity.OperatorConsole.Pages;

/// <summary>Local accounts log in here (CSRF-checked like every console form); a city identity provider through its button.</summary>
public sealed class LoginModel(AccountStore accounts, IOptions<ConsoleOptions> options) : PageModel
{
    public string? Error { get; private set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    [BindProperty]
    public string? Name { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    public bool OidcEnabled => options.Value.Oidc.Enabled;

    public async Task<IActionResult> OnPostAsync()
    {
        var (outcome, account) = accounts.Verify(Name ?? "", Password ?? "");
        if (outcome != LoginOutcome.Success || account is null)
        {
            Error = outcome == LoginOutcome.LockedOut ? "login.locked" : "login.refused";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        await HttpContext.SignInAsync(ConsoleAuth.CookieScheme, ConsoleAuth.Principal(account.Name, account.Role, "pwd", account.City, account.Districts)).ConfigureAwait(false);
        return LocalRedirect(ConsoleEndpoints.IsLocal(ReturnUrl) ? ReturnUrl! : ConsoleAuth.BasePath + "/alerts");
    }
}

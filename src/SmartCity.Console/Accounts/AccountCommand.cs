using System.CommandLine;
using Microsoft.Extensions.Configuration;
using SmartCity.CommandLine;

namespace SmartCity.OperatorConsole.Accounts;

/// <summary>
/// <c>SmartCity.Worker console add-user --name NAME --role ROLE</c> (password on standard input, never an
/// argument: arguments show in ps and shell history) and <c>console list-users</c>. The first admin of a
/// new city is made this way; the file is the one the running worker reads (Console:UsersFile, else
/// beside Alerting:StateFile, from the same appsettings.json and SMARTCITY_ variables).
/// </summary>
public static class AccountCommand
{
    public const int UsageExitCode = 64;

    public static async Task<int> RunAsync(string[] args, string settingsDirectory, TextReader stdin, TextWriter stdout, TextWriter stderr)
    {
        var usersFile = new Option<string>("--users-file") { Description = "accounts file (default: Console:UsersFile, else console-users.json beside Alerting:StateFile)", HelpName = "FILE", Recursive = true };
        var name = new Option<string>("--name") { Description = "user name, recorded on acknowledgements (e.g. anna.dupont)", Required = true };
        var role = new Option<string>("--role") { Description = "viewer, operator or admin", Required = true };
        role.AcceptOnlyFromAmong(ConsoleRoles.All);
        var city = new Option<string>("--city") { Description = "the city of the account (partition map id); default: the worker's own", HelpName = "ID" };
        var districts = new Option<string[]>("--districts") { Description = "only these districts (comma-separated or repeated), e.g. d01,d02; default: the whole city", HelpName = "D", AllowMultipleArgumentsPerToken = true };

        var add = new Command("add-user", "Add a console account, or set its role, password and scope (unlocks it). The password is read from standard input.") { name, role, city, districts };
        add.SetAction(async p =>
        {
            var password = (await stdin.ReadLineAsync().ConfigureAwait(false))?.TrimEnd('\r');
            var scope = (p.GetValue(districts) ?? []).SelectMany(d => d.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).Distinct(StringComparer.Ordinal).ToList();
            if ((AccountStore.Problem(p.GetValue(name), p.GetValue(role), password) ?? AccountStore.ScopeProblem(p.GetValue(city), scope)) is { } problem)
            {
                await stderr.WriteLineAsync("smartcity console: " + problem).ConfigureAwait(false);
                return UsageExitCode;
            }

            using var store = Store(p.GetValue(usersFile), settingsDirectory);
            var account = store.SetAccount(p.GetValue(name)!, p.GetValue(role)!, password!, p.GetValue(city), scope);
            await stdout.WriteLineAsync($"account '{account.Name}' ({account.Role}{Scope(account)}) saved in {Path.GetFullPath(store.File)}").ConfigureAwait(false);
            return 0;
        });

        var list = new Command("list-users", "List the console accounts (names, roles, lockouts; never hashes).");
        list.SetAction(async p =>
        {
            using var store = Store(p.GetValue(usersFile), settingsDirectory);
            foreach (var a in store.Accounts)
            {
                await stdout.WriteLineAsync($"{a.Name}\t{a.Role}{Scope(a)}{(a.LockedUntil is { } until ? $"\tlocked until {until:O}" : "")}").ConfigureAwait(false);
            }

            return 0;
        });

        var root = Cli.Root("console", "Operator console accounts of the SmartCity worker (docs/console.md).");
        root.Options.Add(usersFile);
        root.Subcommands.Add(add);
        root.Subcommands.Add(list);
        return await Cli.InvokeAsync(Cli.Parse(root, args), stdout, stderr, UsageExitCode, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>", city lyon, districts d01 d02" or nothing for an account of the whole city.</summary>
    private static string Scope(ConsoleAccount account) =>
        (account.City is { } c ? $", city {c}" : "") + (account.Districts.Count > 0 ? $", districts {string.Join(' ', account.Districts)}" : "");

    private static AccountStore Store(string? usersFile, string settingsDirectory)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(settingsDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables("SMARTCITY_")
            .Build();
        var options = configuration.GetSection(ConsoleOptions.SectionName).Get<ConsoleOptions>() ?? new ConsoleOptions();
        var file = usersFile ?? options.ResolveUsersFile(configuration["Alerting:StateFile"]);
        return new AccountStore(file, options.MaxFailedLogins, options.LockoutDuration, TimeProvider.System);
    }
}

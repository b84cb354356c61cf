using System.CommandLine;
using SmartCity.CommandLine;

namespace SmartCity.Provisioning;

/// <summary>
/// <c>smartcity-provision --root ROOT city add CITY</c>, <c>city list</c>, <c>city revoke CITY</c>: a
/// city's broker accounts (deploy/mosquitto/acl-city.template) where this used to be a sed line and
/// two mosquitto_passwd runs by hand.
/// </summary>
public static partial class ProvisionCommand
{
    private static Command CityCommand(StoreOptions shared) =>
        new("city", "A city's broker accounts when several cities share the broker (its workers' account and its read-only account).")
        {
            CityAddCommand(shared), CityListCommand(shared), CityRevokeCommand(shared),
        };

    private static Command CityAddCommand(StoreOptions shared)
    {
        var cityArgument = new Argument<string>("CITY") { Description = "the city's id in the partition map, e.g. lyon" }.NoOptionLike();
        var templateOption = new Option<string>("--template") { Description = "ACL template with @CITY@ and @ROOT@ (default: the shipped deploy/mosquitto/acl-city.template)", HelpName = "FILE" };
        var passwordsOutOption = new Option<string>("--passwords-out") { Description = "write each account's password to DIR/USER (mode 0600, e.g. for Mqtt:PasswordFile) instead of printing them once", HelpName = "DIR" };
        var add = new Command("add", "Write the city's ACL section (its --root) and give each of its accounts a strong password.")
        {
            cityArgument, templateOption, passwordsOutOption,
        };
        add.SetAction(async p =>
        {
            if (await shared.StoreAsync(p).ConfigureAwait(false) is not var (store, reload))
            {
                return UsageExitCode;
            }

            // The shared --root defaults to "city" for devices; a city's root is never guessed.
            if (p.GetValue(shared.Root) is not { } root)
            {
                await UsageErrorAsync(p.InvocationConfiguration.Error, "city add needs the city's topic root: --root ROOT (its topicRoot in the partition map)").ConfigureAwait(false);
                return UsageExitCode;
            }

            var city = p.GetRequiredValue(cityArgument);
            return await FailuresAsync(p, async () =>
            {
                var template = p.GetValue(templateOption) is { } file ? await File.ReadAllTextAsync(file).ConfigureAwait(false) : DeviceStore.ShippedCityTemplate();
                var passwordsOut = p.GetValue(passwordsOutOption);
                if (passwordsOut is not null && !Directory.Exists(passwordsOut))
                {
                    // Checked before the accounts exist: a failure here leaves nothing half-made.
                    throw new ProvisioningException($"--passwords-out '{passwordsOut}' is not a directory");
                }

                var accounts = await store.AddCityAsync(city, root, template, CancellationToken.None).ConfigureAwait(false);
                await DeviceStore.ReloadAsync(reload, CancellationToken.None).ConfigureAwait(false);
                var output = p.InvocationConfiguration.Output;
                await output.WriteLineAsync($"added city {city} (root {root}): accounts {string.Join(", ", accounts.Select(a => a.User))}{ReloadNote(reload)}").ConfigureAwait(false);
                foreach (var (user, password) in accounts)
                {
                    if (passwordsOut is not null)
                    {
                        DeviceStore.WriteAtomically(Path.Combine(passwordsOut, user), password + "\n");
                        await output.WriteLineAsync($"password of {user} written to {Path.Combine(passwordsOut, user)}").ConfigureAwait(false);
                    }
                    else
                    {
                        await output.WriteLineAsync($"password of {user} (shown once): {password}").ConfigureAwait(false);
                    }
                }

                return 0;
            }).ConfigureAwait(false);
        });
        return add;
    }

    private static Command CityListCommand(StoreOptions shared)
    {
        var list = new Command("list", "Cities with accounts, and whether each account has a password.");
        list.SetAction(async p =>
        {
            if (await shared.StoreAsync(p).ConfigureAwait(false) is not var (store, _))
            {
                return UsageExitCode;
            }

            return await FailuresAsync(p, async () =>
            {
                foreach (var (city, users) in store.ListCities())
                {
                    await p.InvocationConfiguration.Output.WriteLineAsync($"{city}\t{string.Join(' ', users.Select(u => $"{u.User}(password:{(u.HasPassword ? "yes" : "MISSING")})"))}").ConfigureAwait(false);
                }

                return 0;
            }).ConfigureAwait(false);
        });
        return list;
    }

    private static Command CityRevokeCommand(StoreOptions shared)
    {
        var cityArgument = new Argument<string>("CITY") { Description = "the city's id" }.NoOptionLike();
        var revoke = new Command("revoke", "Remove the passwords of the city's accounts, then its ACL section.") { cityArgument };
        revoke.SetAction(async p =>
        {
            if (await shared.StoreAsync(p).ConfigureAwait(false) is not var (store, reload))
            {
                return UsageExitCode;
            }

            var city = p.GetRequiredValue(cityArgument);
            return await FailuresAsync(p, async () =>
            {
                if (await store.RevokeCityAsync(city, CancellationToken.None).ConfigureAwait(false) is not { } users)
                {
                    await p.InvocationConfiguration.Error.WriteLineAsync($"smartcity-provision: city '{city}' has no accounts").ConfigureAwait(false);
                    return 1;
                }

                await DeviceStore.ReloadAsync(reload, CancellationToken.None).ConfigureAwait(false);
                await p.InvocationConfiguration.Output.WriteLineAsync($"revoked city {city}: {string.Join(", ", users)}{ReloadNote(reload)}").ConfigureAwait(false);
                return 0;
            }).ConfigureAwait(false);
        });
        return revoke;
    }
}

using System.CommandLine;
using SmartCity.CommandLine;

namespace SmartCity.Provisioning;

/// <summary>The command line of <c>smartcity-provision</c>. Exit codes: 0 done, 1 refused or failed, 2 usage.</summary>
public static partial class ProvisionCommand
{
    public const int UsageExitCode = 2;

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error) =>
        Cli.InvokeAsync(Parse(args), output, error, UsageExitCode, CancellationToken.None);

    public static ParseResult Parse(IReadOnlyList<string> args) => Cli.Parse(BuildCommand(), args);

    public static Command BuildCommand()
    {
        var shared = new StoreOptions();
        var root = Cli.Root("smartcity-provision", "Device and city credentials and ACL entries in mosquitto's files (docs/security.md).");
        foreach (var option in shared.All)
        {
            root.Options.Add(option);
        }

        var device = new Command("device", "Device accounts.") { AddCommand(shared), ListCommand(shared), RevokeCommand(shared) };
        root.Subcommands.Add(device);
        root.Subcommands.Add(CityCommand(shared));
        return root;
    }

    private static Command AddCommand(StoreOptions shared)
    {
        var idArgument = new Argument<string>("ID") { Description = "device id (the MQTT username)" }.NoOptionLike();
        var sectorOption = new Option<string>("--sector") { Description = "topic segment of the sector, e.g. lighting", HelpName = "S", Required = true };
        var districtOption = new Option<string>("--district") { Description = "topic segment of the district, e.g. d01", HelpName = "D", Required = true };
        var siteOption = new Option<string>("--site") { Description = "topic segment of the site, e.g. d01-street-004", HelpName = "X", Required = true };
        var typeOption = new Option<string>("--type") { Description = "topic segment of the device type, e.g. streetlight", HelpName = "T", Required = true };
        var passwordOutOption = new Option<string>("--password-out") { Description = "write the password to FILE (mode 0600) instead of printing it once", HelpName = "FILE" };
        var add = new Command("add", "Give a device its account: a strong password, printed ONCE (or written to --password-out), and its ACL block.")
        {
            idArgument, sectorOption, districtOption, siteOption, typeOption, passwordOutOption,
        };
        add.SetAction(async p =>
        {
            if (await shared.StoreAsync(p).ConfigureAwait(false) is not var (store, reload))
            {
                return UsageExitCode;
            }

            var placement = new DevicePlacement(p.GetValue(shared.Root) ?? "city", p.GetRequiredValue(sectorOption), p.GetRequiredValue(districtOption), p.GetRequiredValue(siteOption), p.GetRequiredValue(typeOption));
            return await FailuresAsync(p, () => AddAsync(store, reload, p.GetRequiredValue(idArgument), placement, p.GetValue(passwordOutOption), p.InvocationConfiguration.Output)).ConfigureAwait(false);
        });
        return add;
    }

    private static Command ListCommand(StoreOptions shared)
    {
        var list = new Command("list", "Provisioned devices with their ACL lines.");
        list.SetAction(async p =>
        {
            if (await shared.StoreAsync(p).ConfigureAwait(false) is not var (store, _))
            {
                return UsageExitCode;
            }

            return await FailuresAsync(p, async () =>
            {
                var output = p.InvocationConfiguration.Output;
                foreach (var d in store.List())
                {
                    await output.WriteLineAsync($"{d.DeviceId}\tpassword:{(d.HasPassword ? "yes" : "MISSING")}").ConfigureAwait(false);
                    foreach (var line in d.AclLines)
                    {
                        await output.WriteLineAsync("  " + line).ConfigureAwait(false);
                    }
                }

                return 0;
            }).ConfigureAwait(false);
        });
        return list;
    }

    private static Command RevokeCommand(StoreOptions shared)
    {
        var revokeIdArgument = new Argument<string>("ID") { Description = "device id" }.NoOptionLike();
        var revoke = new Command("revoke", "Remove a device's password line, then its ACL block.") { revokeIdArgument };
        revoke.SetAction(async p =>
        {
            if (await shared.StoreAsync(p).ConfigureAwait(false) is not var (store, reload))
            {
                return UsageExitCode;
            }

            var deviceId = p.GetRequiredValue(revokeIdArgument);
            return await FailuresAsync(p, async () =>
            {
                if (!await store.RevokeAsync(deviceId, CancellationToken.None).ConfigureAwait(false))
                {
                    await p.InvocationConfiguration.Error.WriteLineAsync($"smartcity-provision: '{deviceId}' is not provisioned").ConfigureAwait(false);
                    return 1;
                }

                await DeviceStore.ReloadAsync(reload, CancellationToken.None).ConfigureAwait(false);
                await p.InvocationConfiguration.Output.WriteLineAsync($"revoked {deviceId}{ReloadNote(reload)}").ConfigureAwait(false);
                return 0;
            }).ConfigureAwait(false);
        });
        return revoke;
    }

    /// <summary>The options every subcommand shares (before or after "device add|list|revoke", as with the first parser).</summary>
    private sealed class StoreOptions
    {
        public Option<string> PasswordFile { get; } = new("--password-file") { Description = "mosquitto password_file (or SMARTCITY_PROVISION_PASSWORD_FILE)", HelpName = "FILE", Recursive = true };

        public Option<string> AclFile { get; } = new("--acl-file") { Description = "mosquitto acl_file (or SMARTCITY_PROVISION_ACL_FILE)", HelpName = "FILE", Recursive = true };

        public Option<string> Root { get; } = new("--root") { Description = "topic root (default: city)", HelpName = "ROOT", Recursive = true };

        public Option<string> PidFile { get; } = new("--reload-pid-file") { Description = "after a change, SIGHUP the broker whose pid is in FILE", HelpName = "FILE", Recursive = true };

        public Option<string> ReloadCommand { get; } = new("--reload-command") { Description = "after a change, run CMD with /bin/sh (e.g. \"docker compose kill -s HUP mosquitto\")", HelpName = "CMD", Recursive = true };

        public IEnumerable<Option> All => [PasswordFile, AclFile, Root, PidFile, ReloadCommand];

        /// <summary>The store and reload settings of every subcommand; null after a usage error was printed.</summary>
        public async Task<(DeviceStore Store, ReloadOptions Reload)?> StoreAsync(ParseResult p)
        {
            var passwordFile = p.GetValue(PasswordFile) ?? Environment.GetEnvironmentVariable("SMARTCITY_PROVISION_PASSWORD_FILE");
            var aclFile = p.GetValue(AclFile) ?? Environment.GetEnvironmentVariable("SMARTCITY_PROVISION_ACL_FILE");
            if (string.IsNullOrEmpty(passwordFile) || string.IsNullOrEmpty(aclFile))
            {
                await UsageErrorAsync(p.InvocationConfiguration.Error, "--password-file and --acl-file are required").ConfigureAwait(false);
                return null;
            }

            return (new DeviceStore(passwordFile, aclFile), new ReloadOptions(p.GetValue(PidFile), p.GetValue(ReloadCommand)));
        }
    }

    /// <summary>A refused change or a file that cannot be read or written: one line, exit 1.</summary>
    private static async Task<int> FailuresAsync(ParseResult parse, Func<Task<int>> run)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (Exception e) when (e is ProvisioningException or IOException or UnauthorizedAccessException)
        {
            await parse.InvocationConfiguration.Error.WriteLineAsync("smartcity-provision: " + e.Message).ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> AddAsync(DeviceStore store, ReloadOptions reload, string deviceId, DevicePlacement placement, string? passwordOut, TextWriter output)
    {
        var password = DeviceStore.NewPassword();
        if (passwordOut is not null)
        {
            // Written before the account exists: a failure here leaves nothing half-made.
            DeviceStore.WriteAtomically(passwordOut, password + "\n");
        }

        await store.AddAsync(deviceId, placement, password, CancellationToken.None).ConfigureAwait(false);
        await DeviceStore.ReloadAsync(reload, CancellationToken.None).ConfigureAwait(false);
        await output.WriteLineAsync($"added {deviceId}: may publish {placement.TopicFor(deviceId, "{telemetry,status,event}")}, read .../cmd{ReloadNote(reload)}").ConfigureAwait(false);
        await output.WriteLineAsync(passwordOut is null
            ? $"password (shown once, store it in the device now): {password}"
            : $"password written to {passwordOut}").ConfigureAwait(false);
        return 0;
    }

    private static string ReloadNote(ReloadOptions reload) =>
        reload.PidFile is null && reload.Command is null ? " (broker NOT reloaded: send it SIGHUP)" : "; broker reloaded";

    private static async Task UsageErrorAsync(TextWriter error, string message)
    {
        await error.WriteLineAsync("smartcity-provision: " + message).ConfigureAwait(false);
        await error.WriteLineAsync("Usage: smartcity-provision --password-file FILE --acl-file FILE device add|list|revoke ... (smartcity-provision --help)").ConfigureAwait(false);
    }
}

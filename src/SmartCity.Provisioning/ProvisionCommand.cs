namespace SmartCity.Provisioning;

/// <summary>The command line of <c>smartcity-provision</c>. Exit codes: 0 done, 1 refused or failed, 2 usage.</summary>
public static class ProvisionCommand
{
    public const string Usage = """
        usage: smartcity-provision [OPTIONS] device add ID --sector S --district D --site X --type T [--password-out FILE]
               smartcity-provision [OPTIONS] device list
               smartcity-provision [OPTIONS] device revoke ID
        options:
          --password-file FILE     mosquitto password_file  (or SMARTCITY_PROVISION_PASSWORD_FILE)
          --acl-file FILE          mosquitto acl_file       (or SMARTCITY_PROVISION_ACL_FILE)
          --root ROOT              topic root (default: city)
          --reload-pid-file FILE   after a change, SIGHUP the broker whose pid is in FILE
          --reload-command CMD     after a change, run CMD with /bin/sh (e.g. "docker compose kill -s HUP mosquitto")
        add generates a strong password and prints it ONCE (or writes it to --password-out, mode 0600).
        """;

    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var words = new List<string>();
        string[] known = ["--password-file", "--acl-file", "--root", "--reload-pid-file", "--reload-command", "--sector", "--district", "--site", "--type", "--password-out"];
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "-h" or "--help")
            {
                await output.WriteLineAsync(Usage).ConfigureAwait(false);
                return 0;
            }

            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                if (!known.Contains(args[i]) || i + 1 >= args.Length)
                {
                    return await UsageErrorAsync(error, known.Contains(args[i]) ? $"{args[i]} needs a value" : $"unknown option {args[i]}").ConfigureAwait(false);
                }

                options[args[i]] = args[++i];
            }
            else
            {
                words.Add(args[i]);
            }
        }

        var passwordFile = options.GetValueOrDefault("--password-file") ?? Environment.GetEnvironmentVariable("SMARTCITY_PROVISION_PASSWORD_FILE");
        var aclFile = options.GetValueOrDefault("--acl-file") ?? Environment.GetEnvironmentVariable("SMARTCITY_PROVISION_ACL_FILE");
        if (words.Count < 2 || words[0] != "device")
        {
            return await UsageErrorAsync(error, "expected 'device add|list|revoke'").ConfigureAwait(false);
        }

        if (string.IsNullOrEmpty(passwordFile) || string.IsNullOrEmpty(aclFile))
        {
            return await UsageErrorAsync(error, "--password-file and --acl-file are required").ConfigureAwait(false);
        }

        var store = new DeviceStore(passwordFile, aclFile);
        var reload = new ReloadOptions(options.GetValueOrDefault("--reload-pid-file"), options.GetValueOrDefault("--reload-command"));
        try
        {
            switch (words[1])
            {
                case "add" when words.Count == 3:
                    return await AddAsync(store, reload, words[2], options, output, error).ConfigureAwait(false);
                case "list" when words.Count == 2:
                    foreach (var device in store.List())
                    {
                        await output.WriteLineAsync($"{device.DeviceId}\tpassword:{(device.HasPassword ? "yes" : "MISSING")}").ConfigureAwait(false);
                        foreach (var line in device.AclLines)
                        {
                            await output.WriteLineAsync("  " + line).ConfigureAwait(false);
                        }
                    }

                    return 0;
                case "revoke" when words.Count == 3:
                    if (!await store.RevokeAsync(words[2], CancellationToken.None).ConfigureAwait(false))
                    {
                        await error.WriteLineAsync($"smartcity-provision: '{words[2]}' is not provisioned").ConfigureAwait(false);
                        return 1;
                    }

                    await DeviceStore.ReloadAsync(reload, CancellationToken.None).ConfigureAwait(false);
                    await output.WriteLineAsync($"revoked {words[2]}{ReloadNote(reload)}").ConfigureAwait(false);
                    return 0;
                default:
                    return await UsageErrorAsync(error, $"unknown or incomplete command 'device {words[1]}'").ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is ProvisioningException or IOException or UnauthorizedAccessException)
        {
            await error.WriteLineAsync("smartcity-provision: " + e.Message).ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<int> AddAsync(DeviceStore store, ReloadOptions reload, string deviceId, Dictionary<string, string> options, TextWriter output, TextWriter error)
    {
        string[] required = ["--sector", "--district", "--site", "--type"];
        if (required.FirstOrDefault(r => !options.ContainsKey(r)) is { } missing)
        {
            return await UsageErrorAsync(error, $"device add needs {missing}").ConfigureAwait(false);
        }

        var placement = new DevicePlacement(options.GetValueOrDefault("--root") ?? "city", options["--sector"], options["--district"], options["--site"], options["--type"]);
        var password = DeviceStore.NewPassword();
        var passwordOut = options.GetValueOrDefault("--password-out");
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

    private static async Task<int> UsageErrorAsync(TextWriter error, string message)
    {
        await error.WriteLineAsync("smartcity-provision: " + message).ConfigureAwait(false);
        await error.WriteLineAsync(Usage).ConfigureAwait(false);
        return 2;
    }
}

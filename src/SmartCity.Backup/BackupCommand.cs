using System.CommandLine;
using System.Net.Http.Headers;
using SmartCity.CommandLine;
using SmartCity.Telemetry.Backup;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Backup;

/// <summary>
/// <c>smartcity-backup create|verify|restore</c>: <c>create</c> asks the running worker for its state
/// (<c>GET /api/admin/backup</c>, an admin API key) and keeps the archive only once its checksums verify;
/// <c>restore</c> checks an archive whole, then writes its files into a stopped worker's state folder.
/// </summary>
public static class BackupCommand
{
    /// <summary>The state files with journals beside them (see Buffering/CommitJournal in the worker).</summary>
    private static readonly string[] JournaledStates = ["registry.json", "alerts.json"];

    /// <summary>EX_USAGE (sysexits.h), as the project's other tools.</summary>
    public const int UsageExitCode = 64;

    /// <summary>The API key, when not given in a file (never on the command line, where ps shows it).</summary>
    public const string KeyVariable = "SMARTCITY_BACKUP_API_KEY";

    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var root = Cli.Root("smartcity-backup", "Backs up a running SmartCity worker's state (device registry, alert state, rules, profiles, device accounts, console accounts, TALQ CMS and lighting state) and restores it.");
        root.Subcommands.Add(CreateCommand());
        root.Subcommands.Add(VerifyCommand());
        root.Subcommands.Add(RestoreCommand());
        return Cli.InvokeAsync(Cli.Parse(root, args), stdout, stderr, UsageExitCode, cancellationToken);
    }

    private static Command CreateCommand()
    {
        var url = new Option<string>("--url") { Description = "the worker's operator API", DefaultValueFactory = _ => "http://127.0.0.1:8080", HelpName = "URL" };
        url.Validators.Add(r =>
        {
            if (!Uri.TryCreate(r.GetValueOrDefault<string>(), UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https"))
            {
                r.AddError("--url must be an http:// or https:// URL such as http://127.0.0.1:8080");
            }
        });
        var keyFile = new Option<string>("--key-file") { Description = $"a file holding an admin API key (default: the {KeyVariable} variable)", HelpName = "FILE" };
        var output = new Option<string>("--output", "-o") { Description = "the archive to write", Required = true, HelpName = "FILE" };
        var create = new Command("create", "Takes a backup of the running worker into an archive, checked before it is kept.") { url, keyFile, output };
        create.SetAction(async (p, ct) =>
        {
            var key = p.GetValue(keyFile) is { } file ? (await File.ReadAllTextAsync(file, ct).ConfigureAwait(false)).Trim() : Environment.GetEnvironmentVariable(KeyVariable);
            if (string.IsNullOrWhiteSpace(key))
            {
                await p.InvocationConfiguration.Error.WriteLineAsync($"an admin API key is needed: --key-file FILE or {KeyVariable}").ConfigureAwait(false);
                return UsageExitCode;
            }

            return await CreateAsync(new Uri(p.GetRequiredValue(url)), key, p.GetRequiredValue(output), p.InvocationConfiguration.Output, p.InvocationConfiguration.Error, ct).ConfigureAwait(false);
        });
        return create;
    }

    private static Command VerifyCommand()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "the backup archive" }.NoOptionLike();
        var verify = new Command("verify", "Checks an archive: the manifest, every file's size and SHA-256.") { archive };
        verify.SetAction(async (p, ct) =>
        {
            var (manifest, _, problems) = await ReadAsync(p.GetRequiredValue(archive), ct).ConfigureAwait(false);
            return Report(manifest, problems, p.InvocationConfiguration.Output, p.InvocationConfiguration.Error);
        });
        return verify;
    }

    private static Command RestoreCommand()
    {
        var archive = new Argument<string>("ARCHIVE") { Description = "the backup archive" }.NoOptionLike();
        var target = new Option<string>("--target") { Description = "the stopped worker's state folder (e.g. /var/lib/smartcity)", Required = true, HelpName = "DIR" };
        var force = new Option<bool>("--force") { Description = "replace state files that are already there" };
        var restore = new Command("restore", "Checks an archive, then writes its files into a stopped worker's state folder.") { archive, target, force };
        restore.SetAction(async (p, ct) =>
        {
            var (manifest, files, problems) = await ReadAsync(p.GetRequiredValue(archive), ct).ConfigureAwait(false);
            if (Report(manifest, problems, TextWriter.Null, p.InvocationConfiguration.Error) != 0)
            {
                return 1;
            }

            return await RestoreAsync(manifest!, files, p.GetRequiredValue(target), p.GetValue(force), p.InvocationConfiguration.Output, p.InvocationConfiguration.Error, ct).ConfigureAwait(false);
        });
        return restore;
    }

    private static async Task<int> CreateAsync(Uri url, string key, string output, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(5) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        byte[] body;
        try
        {
            using var response = await http.GetAsync(new Uri("/api/admin/backup", UriKind.Relative), cancellationToken).ConfigureAwait(false);
            body = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                await stderr.WriteLineAsync($"the worker answered {(int)response.StatusCode} {response.ReasonPhrase}: {System.Text.Encoding.UTF8.GetString(body)}").ConfigureAwait(false);
                return 1;
            }
        }
        catch (HttpRequestException ex)
        {
            await stderr.WriteLineAsync($"cannot reach the worker at {url}: {ex.Message}").ConfigureAwait(false);
            return 1;
        }

        var problems = new List<string>();
        using (var stream = new MemoryStream(body))
        {
            var (manifest, _) = BackupArchive.Read(stream, problems);
            if (Report(manifest, problems, stdout, stderr) != 0)
            {
                return 1;
            }
        }

        // Written beside the target, then renamed: an interrupted run never leaves half an archive under the name.
        var full = Path.GetFullPath(output);
        StateFile.Replace(full, file => file.Write(body));
        await stdout.WriteLineAsync($"backup written to {full} ({body.Length} bytes)").ConfigureAwait(false);
        return 0;
    }

    private static async Task<(BackupManifest? Manifest, Dictionary<string, byte[]> Files, List<string> Problems)> ReadAsync(string path, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (!File.Exists(path))
        {
            problems.Add($"{path}: no such file");
            return (null, [], problems);
        }

        using var stream = new MemoryStream(await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false));
        var (manifest, files) = BackupArchive.Read(stream, problems);
        return (manifest, files, problems);
    }

    private static int Report(BackupManifest? manifest, List<string> problems, TextWriter stdout, TextWriter stderr)
    {
        if (problems.Count > 0 || manifest is null)
        {
            foreach (var problem in problems)
            {
                stderr.WriteLine("backup damaged: " + problem);
            }

            return 1;
        }

        stdout.WriteLine($"backup of {manifest.Host} taken {manifest.CreatedAt:u}: {manifest.Entries.Count} files, checksums OK");
        foreach (var entry in manifest.Entries)
        {
            stdout.WriteLine($"  {entry.Name}  {entry.Bytes} bytes  from {entry.Source}");
        }

        return 0;
    }

    private static async Task<int> RestoreAsync(BackupManifest manifest, Dictionary<string, byte[]> files, string target, bool force, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        var root = Path.GetFullPath(target);
        var existing = manifest.Entries.Select(e => Path.Combine(root, e.Name)).Where(File.Exists).ToList();
        if (existing.Count > 0 && !force)
        {
            await stderr.WriteLineAsync($"{root} already holds {string.Join(", ", existing.Select(Path.GetFileName))}: stop the worker and use --force to replace them").ConfigureAwait(false);
            return 1;
        }

        foreach (var entry in manifest.Entries)
        {
            StateFile.Replace(Path.Combine(root, entry.Name), file => file.Write(files[entry.Name]));
        }

        foreach (var state in JournaledStates.Where(n => manifest.Entries.Any(e => e.Name == n)))
        {
            // The replaced registry's (or alert state's) journals: replayed over the restored file, they would bring back what changed after the backup.
            foreach (var journal in Directory.EnumerateFiles(root, state + ".journal.*"))
            {
                File.Delete(journal);
            }

            // The deletions survive a power loss too, or the stale journals come back.
            StateFile.SyncDirectory(root);
        }

        await stdout.WriteLineAsync($"restored {manifest.Entries.Count} files into {root}; start the worker with").ConfigureAwait(false);
        await stdout.WriteLineAsync($"  SMARTCITY_Registry__File={Path.Combine(root, "registry.json")} SMARTCITY_Alerting__StateFile={Path.Combine(root, "alerts.json")}").ConfigureAwait(false);
        if (manifest.Entries.Any(e => e.Name == "lighting.json"))
        {
            // The console accounts and the TALQ CMS state are found beside those two by default; the lighting state is not.
            await stdout.WriteLineAsync($"  SMARTCITY_Lighting__StateFile={Path.Combine(root, "lighting.json")}").ConfigureAwait(false);
        }

        if (manifest.Entries.Any(e => e.Name.StartsWith("rules/", StringComparison.Ordinal) || e.Name.StartsWith("profiles/", StringComparison.Ordinal) || e.Name.StartsWith("accounts/", StringComparison.Ordinal)))
        {
            await stdout.WriteLineAsync("  and point Alerting:RulesFile, Profiles:Directory and the broker's account files at rules/, profiles/ and accounts/ there (or copy them back to the sources the manifest lists)").ConfigureAwait(false);
        }

        return 0;
    }
}

using System.Text.RegularExpressions;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.IntegrationTests.Security;

/// <summary>
/// docker-compose.yml's secrets, checked offline (no container runs here): the services we do not
/// build refuse the example's placeholders at start through deploy/common/check-secrets.sh, and
/// InfluxDB's first start gives the worker a write-only token and Grafana a read-only one, so no
/// service but InfluxDB holds the operator token.
/// </summary>
public sealed partial class DeploySecretsTests
{
    private static string Root => RepositoryFiles.Root;

    private static string CheckSecrets => Path.Combine(Root, "deploy", "common", "check-secrets.sh");

    /// <summary>The secrets of .env.example (NAME=change-me-...), as the compose test finds them.</summary>
    private static Dictionary<string, string> ExampleSecrets() =>
        File.ReadLines(Path.Combine(Root, ".env.example"))
            .Select(l => ExampleSecretLine().Match(l))
            .Where(m => m.Success)
            .ToDictionary(m => m.Groups["key"].Value, m => m.Groups["value"].Value);

    [Fact]
    public async Task CheckSecrets_ExampleValues_RefusesEachNamingIt()
    {
        var example = ExampleSecrets();
        Assert.True(example.Count >= 6, "the secrets of .env.example were not found: " + string.Join(", ", example.Keys));
        var env = example.ToDictionary(kv => kv.Key, kv => (string?)kv.Value);

        var refused = await ProcessRunner.RunAsync("sh", [CheckSecrets, .. example.Keys, "--", "true"], Root, env);

        Assert.Equal(78, refused.Exit);
        foreach (var (name, value) in example)
        {
            Assert.Contains($"{name} is a placeholder", refused.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain(value, refused.Output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task CheckSecrets_RealValues_RunsTheProgram()
    {
        var example = ExampleSecrets();
        var env = example.ToDictionary(kv => kv.Key, _ => (string?)Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));
        var marker = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("check-secrets-"));

        var result = await ProcessRunner.RunAsync("sh", [CheckSecrets, .. example.Keys, "--", "touch", marker], Root, env);

        Assert.True(result.Exit == 0, result.Output);
        Assert.True(File.Exists(marker), "the program after -- did not run");
        File.Delete(marker);
    }

    [Fact]
    public async Task CheckSecrets_MissingValue_RefusesNamingIt()
    {
        var result = await ProcessRunner.RunAsync("sh", [CheckSecrets, "SMARTCITY_TEST_UNSET_SECRET"], Root, new Dictionary<string, string?> { ["SMARTCITY_TEST_UNSET_SECRET"] = null });

        Assert.Equal(78, result.Exit);
        Assert.Contains("SMARTCITY_TEST_UNSET_SECRET is not set", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GrafanaEntrypoint_PlaceholderAdminPassword_RefusesNamingIt_RealOneStartsWithTheReadToken()
    {
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "smartcity-it-grafana", TestServers.UniqueName("g-"))).FullName;
        var tokenFile = Path.Combine(folder, "token");
        var readToken = "read-" + Guid.NewGuid().ToString("N");
        await File.WriteAllTextAsync(tokenFile, readToken);
        var seen = Path.Combine(folder, "seen");
        var entrypoint = Path.Combine(Root, "deploy", "grafana", "entrypoint.sh");
        // Stands in for the image's /run.sh: records the token Grafana's provisioning would expand.
        string[] program = ["sh", "-c", "printf %s \"$SMARTCITY_INFLUX_TOKEN\" > \"$0\"", seen];

        var refused = await ProcessRunner.RunAsync("sh", [entrypoint, .. program], Root, new Dictionary<string, string?>
        {
            ["SMARTCITY_INFLUX_TOKEN_FILE"] = tokenFile,
            ["GF_SECURITY_ADMIN_PASSWORD"] = ExampleSecrets()["GRAFANA_ADMIN_PASSWORD"],
        });
        Assert.Equal(78, refused.Exit);
        Assert.Contains("GF_SECURITY_ADMIN_PASSWORD is a placeholder", refused.Stderr, StringComparison.Ordinal);
        Assert.False(File.Exists(seen), "Grafana started with a placeholder password");

        var noToken = await ProcessRunner.RunAsync("sh", [entrypoint, .. program], Root, new Dictionary<string, string?>
        {
            ["SMARTCITY_INFLUX_TOKEN_FILE"] = Path.Combine(folder, "missing"),
            ["GF_SECURITY_ADMIN_PASSWORD"] = Guid.NewGuid().ToString("N"),
        });
        Assert.Equal(78, noToken.Exit);
        Assert.Contains("read token", noToken.Stderr, StringComparison.Ordinal);

        var started = await ProcessRunner.RunAsync("sh", [entrypoint, .. program], Root, new Dictionary<string, string?>
        {
            ["SMARTCITY_INFLUX_TOKEN_FILE"] = tokenFile,
            ["GF_SECURITY_ADMIN_PASSWORD"] = Guid.NewGuid().ToString("N"),
        });
        Assert.True(started.Exit == 0, started.Output);
        Assert.Equal(readToken, await File.ReadAllTextAsync(seen));
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public async Task InfluxInit_CreatesWriteTokenForWorkerAndReadTokenForGrafana()
    {
        // A stand-in influx CLI on PATH records each call and answers "auth create" like influx 2.7 with --json.
        var folder = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "smartcity-it-influx-init", TestServers.UniqueName("i-"))).FullName;
        var bin = Directory.CreateDirectory(Path.Combine(folder, "bin")).FullName;
        var calls = Path.Combine(folder, "calls");
        var fake = Path.Combine(bin, "influx");
        await File.WriteAllTextAsync(fake, """
            #!/bin/sh
            echo "$*" >> "$FAKE_INFLUX_CALLS"
            n=$(wc -l < "$FAKE_INFLUX_CALLS" | tr -d ' ')
            printf '{\n\t"id": "0a%s",\n\t"description": "x",\n\t"token": "tok-%s-%s",\n\t"status": "active"\n}\n' "$n" "$n" "$5"
            """.Replace("\r", "", StringComparison.Ordinal));
        Assert.False(OperatingSystem.IsWindows(), "the deploy scripts run in Linux containers: this test needs a Unix shell");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var tokens = Path.Combine(folder, "tokens");

        var result = await ProcessRunner.RunAsync("bash", [Path.Combine(Root, "deploy", "influxdb", "init", "20-tokens.sh")], Root, new Dictionary<string, string?>
        {
            ["PATH"] = bin + Path.PathSeparator + Environment.GetEnvironmentVariable("PATH"),
            ["FAKE_INFLUX_CALLS"] = calls,
            ["SMARTCITY_TOKENS_DIR"] = tokens,
            ["DOCKER_INFLUXDB_INIT_ORG"] = "smartcity",
            ["DOCKER_INFLUXDB_INIT_BUCKET"] = "smartcity",
            ["DOCKER_INFLUXDB_INIT_BUCKET_ID"] = "b0c4e1d2a3f40516",
        });

        Assert.True(result.Exit == 0, result.Output);
        var lines = await File.ReadAllLinesAsync(calls);
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("auth create --org smartcity --write-bucket b0c4e1d2a3f40516 ", lines[0], StringComparison.Ordinal);
        Assert.StartsWith("auth create --org smartcity --read-bucket b0c4e1d2a3f40516 ", lines[1], StringComparison.Ordinal);
        Assert.All(lines, l => Assert.DoesNotContain("--all-access", l, StringComparison.Ordinal));
        Assert.All(lines, l => Assert.DoesNotContain("--operator", l, StringComparison.Ordinal));
        Assert.Equal("tok-1---write-bucket", await File.ReadAllTextAsync(Path.Combine(tokens, "worker", "token")));
        Assert.Equal("tok-2---read-bucket", await File.ReadAllTextAsync(Path.Combine(tokens, "grafana", "token")));
        // The tokens go to the files, never to the log.
        Assert.DoesNotContain("tok-", result.Output, StringComparison.Ordinal);
        Directory.Delete(folder, recursive: true);
    }

    [Fact]
    public void Compose_OnlyInfluxDbGetsTheOperatorToken_WorkerAndGrafanaTheirOwn()
    {
        var services = ComposeServices();

        Assert.Equal(["influxdb"], services.Where(s => s.Value.Contains("INFLUXDB_ADMIN_TOKEN", StringComparison.Ordinal)).Select(s => s.Key));
        Assert.Contains("- influxdb-worker-token:/smartcity/tokens/worker\n", services["influxdb"], StringComparison.Ordinal);
        Assert.Contains("- influxdb-grafana-token:/smartcity/tokens/grafana\n", services["influxdb"], StringComparison.Ordinal);
        Assert.Contains("- ./deploy/influxdb/init:/docker-entrypoint-initdb.d:ro\n", services["influxdb"], StringComparison.Ordinal);

        Assert.Contains("SMARTCITY_Influx__TokenFile: /run/smartcity/influx/token\n", services["worker"], StringComparison.Ordinal);
        Assert.DoesNotContain("SMARTCITY_Influx__Token:", services["worker"], StringComparison.Ordinal);
        Assert.Contains("- influxdb-worker-token:/run/smartcity/influx:ro\n", services["worker"], StringComparison.Ordinal);
        Assert.DoesNotContain("influxdb-grafana-token", services["worker"], StringComparison.Ordinal);

        Assert.Contains("entrypoint: [\"/bin/sh\", \"/smartcity/grafana/entrypoint.sh\", \"/run.sh\"]", services["grafana"], StringComparison.Ordinal);
        Assert.Contains("- influxdb-grafana-token:/run/smartcity/influx:ro\n", services["grafana"], StringComparison.Ordinal);
        Assert.DoesNotContain("influxdb-worker-token", services["grafana"], StringComparison.Ordinal);

        // Each service that we do not build runs the placeholder check from the folder it mounts.
        foreach (var (service, entrypoint) in new[] { ("grafana", "grafana"), ("influxdb", "influxdb"), ("mosquitto", "mosquitto") })
        {
            Assert.Contains($"- ./deploy/{entrypoint}:/smartcity/{entrypoint}:ro\n", services[service], StringComparison.Ordinal);
            Assert.Contains("- ./deploy/common:/smartcity/common:ro\n", services[service], StringComparison.Ordinal);
            Assert.Contains($"\"/smartcity/{entrypoint}/entrypoint.sh\"", services[service], StringComparison.Ordinal);
            Assert.Contains("common/check-secrets.sh", File.ReadAllText(Path.Combine(Root, "deploy", entrypoint, "entrypoint.sh")), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task DeployScripts_ParseAndPassShellcheckWhereInstalled()
    {
        var scripts = Directory.GetFiles(Path.Combine(Root, "deploy"), "*.sh", SearchOption.AllDirectories);
        Assert.True(scripts.Length >= 6, string.Join(", ", scripts));
        foreach (var script in scripts)
        {
            var shell = File.ReadLines(script).First().Contains("bash", StringComparison.Ordinal) ? "bash" : "sh";
            var parsed = await ProcessRunner.RunAsync(shell, ["-n", script], Root);
            Assert.True(parsed.Exit == 0, $"{shell} -n {script}: {parsed.Output}");
        }

        var shellcheck = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Select(d => Path.Combine(d, "shellcheck")).FirstOrDefault(File.Exists);
        if (shellcheck is not null)
        {
            var checkedScripts = await ProcessRunner.RunAsync(shellcheck, scripts, Root);
            Assert.True(checkedScripts.Exit == 0, checkedScripts.Output);
        }
    }

    [Fact]
    public void PlaceholderLists_OfTheWorkerAndTheShellCheck_AreEqual()
    {
        var script = File.ReadAllText(CheckSecrets);
        string[] Shell(string name) => Regex.Match(script, $"^{name}=\"(?<v>[^\"]*)\"", RegexOptions.Multiline).Groups["v"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);

        Assert.Equal(SecretPlaceholders.Prefixes, Shell("PLACEHOLDER_PREFIXES"));
        Assert.Equal(SecretPlaceholders.Infixes, Shell("PLACEHOLDER_INFIXES"));
        Assert.Equal(SecretPlaceholders.Words, Shell("PLACEHOLDER_WORDS"));
    }

    /// <summary>Each service's block of docker-compose.yml (from "  name:" to the next service), by name.</summary>
    private static Dictionary<string, string> ComposeServices()
    {
        var text = File.ReadAllText(Path.Combine(Root, "docker-compose.yml")).Replace("\r", "", StringComparison.Ordinal);
        var services = text[(text.IndexOf("\nservices:\n", StringComparison.Ordinal) + 1)..];
        services = services[..services.IndexOf("\nnetworks:\n", StringComparison.Ordinal)];
        var starts = ServiceStart().Matches(services).ToList();
        var blocks = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < starts.Count; i++)
        {
            var end = i + 1 < starts.Count ? starts[i + 1].Index : services.Length;
            blocks[starts[i].Groups["name"].Value] = services[starts[i].Index..end] + "\n";
        }

        return blocks;
    }

    [GeneratedRegex(@"^(?<key>[A-Z0-9_]*(PASSWORD|TOKEN|SECRET)[A-Z0-9_]*|[A-Z0-9_]*_KEY)=(?<value>change-me.*)$")]
    private static partial Regex ExampleSecretLine();

    [GeneratedRegex(@"^  (?<name>[a-z][a-z0-9_-]*):$", RegexOptions.Multiline)]
    private static partial Regex ServiceStart();
}

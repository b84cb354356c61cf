using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests;

/// <summary>
/// scripts/servers.sh as CI and developers call it. Its output ends up in CI logs and terminal
/// recordings, so it must never carry the broker passwords it writes to servers.env.
/// </summary>
public sealed class ServersScriptTests
{
    [Fact]
    public async Task Start_Output_NamesTheEnvironmentFileButShowsNoPassword()
    {
        var runDir = Path.Combine(Path.GetTempPath(), "smartcity-it-servers", TestServers.UniqueName("s-"));
        var env = Path.Combine(runDir, "servers.env");
        try
        {
            // Its own run folder, so the shared servers are not touched; a few seconds on this machine.
            var start = await ProcessRunner.RunAsync("bash", [TestServers.ServersScript, "start", runDir], RepositoryFiles.Root, timeout: TimeSpan.FromSeconds(240));
            Assert.True(start.Exit == 0, $"servers.sh start exited {start.Exit}: {start.Output}");

            var secrets = File.ReadAllLines(env)
                .Select(l => l.Split('=', 2))
                .Where(kv => kv.Length == 2 && kv[0].EndsWith("_PASSWORD", StringComparison.Ordinal))
                .Select(kv => kv[1].Trim('\''))
                .ToList();
            Assert.Equal(3, secrets.Count);
            Assert.All(secrets, s => Assert.True(s.Length >= 16, "a generated password is at least 16 characters"));
            foreach (var secret in secrets)
            {
                Assert.DoesNotContain(secret, start.Output, StringComparison.Ordinal);
            }

            // What callers get on stdout: where the file is, to load it themselves.
            Assert.Equal(env, start.Stdout.Trim());
        }
        finally
        {
            await ProcessRunner.RunAsync("bash", [TestServers.ServersScript, "stop", runDir], RepositoryFiles.Root, timeout: TimeSpan.FromSeconds(120));
        }
    }
}

using System.Diagnostics;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// Tests that stop and restart the shared servers. They run in one collection with parallelism
/// off, which xunit runs after the parallel collections, so no other test sees the outage.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ServerFaultsGroup
{
    public const string Name = "Server faults";
}

/// <summary>Drives scripts/servers.sh, which restarts a server on the same port with the same data.</summary>
public static class ServerFaults
{
    public static Task StopMosquittoAsync() => RunAsync("stop-mosquitto");

    public static Task StartMosquittoAsync() => RunAsync("start-mosquitto");

    public static Task StopInfluxDbAsync() => RunAsync("stop-influxdb");

    public static Task StartInfluxDbAsync() => RunAsync("start-influxdb");

    private static async Task RunAsync(string command)
    {
        var start = new ProcessStartInfo("bash", [TestServers.ServersScript, command, TestServers.RunDir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"servers.sh {command} failed ({process.ExitCode}): {await stdout} {await stderr}");
        }
    }
}

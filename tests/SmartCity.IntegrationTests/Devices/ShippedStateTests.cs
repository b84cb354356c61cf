using System.Text.RegularExpressions;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Devices;

/// <summary>
/// A new city starts with no devices: no worker state (device registry, spool, alerts) ships in the
/// build output, the image or the compose volumes. A registry from a demo run once did: every new
/// installation listed 528 devices "online", last seen days before.
/// </summary>
public sealed partial class ShippedStateTests
{
    [Fact]
    public void BuildOutput_OfTheWorker_HasNoDataFolder()
    {
        // The test binaries hold the worker's build output (the tests run SmartCity.Worker.dll from here).
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "SmartCity.Worker.dll")), "the worker's build output is not beside the tests");
        var data = Path.Combine(AppContext.BaseDirectory, "data");
        var shipped = Directory.Exists(data) ? Directory.GetFiles(data, "*", SearchOption.AllDirectories) : [];
        Assert.True(shipped.Length == 0, "worker state in the build output: " + string.Join(", ", shipped));
    }

    [Fact]
    public async Task FreshWorker_WithTheDefaultRegistryFile_ReportsNoDevices()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var clientId = TestServers.UniqueName("worker-");
        var settings = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", clientId);
        // The shipped default (data/registry.json beside the binaries, as in the image's /app), not a test folder.
        settings.Remove("Registry:File");
        var registry = Path.Combine(AppContext.BaseDirectory, "data", "registry.json");
        var existedBefore = File.Exists(registry);
        try
        {
            await using var worker = await WorkerProcess.StartAsync(settings);
            var devices = await worker.GetAsync("/api/devices");
            Assert.Equal(0, devices.GetArrayLength());
        }
        finally
        {
            // A worker that ran here may have saved its (empty) registry: leave the build output as built.
            if (!existedBefore && File.Exists(registry))
            {
                File.Delete(registry);
            }
        }
    }

    [Fact]
    public void ImageAndCompose_CopyNoDataFolder()
    {
        var dockerfile = RepositoryFiles.ReadAllText("src/SmartCity.Worker/Dockerfile");
        var copies = dockerfile.Split('\n').Where(l => Regex.IsMatch(l, @"^\s*(COPY|ADD)\b", RegexOptions.IgnoreCase)).ToList();
        Assert.NotEmpty(copies);
        Assert.DoesNotContain(copies, l => Regex.IsMatch(l, @"(^|[\s/])data(/|\s|$)"));

        // The worker's project folder is copied whole: .dockerignore must keep a local run's data/ out of it.
        var ignored = RepositoryFiles.ReadAllText(".dockerignore").Split('\n').Select(l => l.Trim()).ToList();
        Assert.Contains("**/data", ignored);

        // The project (Web SDK) must not ship data/ as content either.
        var project = RepositoryFiles.ReadAllText("src/SmartCity.Worker/SmartCity.Worker.csproj");
        Assert.Contains("<Content Remove=\"data/**\" />", project, StringComparison.Ordinal);

        // Compose: the worker's state is a named volume, never a bind mount of a folder from the repository.
        var compose = RepositoryFiles.ReadAllText("docker-compose.yml");
        Assert.Empty(BindMount().Matches(compose).Where(m => m.Groups["source"].Value.Split('/').Contains("data", StringComparer.OrdinalIgnoreCase)).Select(m => m.Value));
        Assert.Contains("- worker-data:/app/data", compose, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^\s*-\s*(?<source>\.{1,2}/[^:\s]*):", RegexOptions.Multiline)]
    private static partial Regex BindMount();
}

using System.IO.Compression;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.Backup;
using SmartCity.IntegrationTests.Api;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Hosting;
using SmartCity.Telemetry.Backup;
using SmartCity.Telemetry.Devices.Registry;

namespace SmartCity.IntegrationTests.Backup;

/// <summary>
/// smartcity-backup against a running worker: a backup taken while messages flow restores, into a fresh
/// state folder, to a new worker with the same devices and the same open alerts.
/// </summary>
public sealed class BackupRestoreTests
{
    private const int Lamps = 40;
    private const long Readings = 3_000;
    private const double Rate = 300;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task BackupCreate_WhileMessagesFlow_RestoresToWorkerWithSameDevicesAndOpenAlerts()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var dir = Directory.CreateTempSubdirectory("smartcity-backup-");
        try
        {
            var archive = Path.Combine(dir.FullName, "backup.zip");
            var target = Path.Combine(dir.FullName, "restored");
            var keyFile = Path.Combine(dir.FullName, "admin.key");
            await File.WriteAllTextAsync(keyFile, TestApiKeys.Admin.Key);

            HashSet<string> devices;
            HashSet<string> openAlerts;
            await using (var worker = await TestWorker.StartAsync(db))
            {
                await ApiTestKit.RaiseDoorForcedAsync(worker, "d07");
                await using var fleet = new SteadyFleet(SteadyFleet.Fleet(worker.TopicRoot, Lamps, Readings, Rate), Readings, Rate, TestServers.UniqueName("sim-"));
                fleet.Start();
                // Every lamp has announced itself (births come first) and readings are flowing.
                await fleet.WhenPublishedAsync(Lamps + 200, Timeout);
                await worker.Metrics.WaitUntilAsync(s => s.Received >= Lamps + 200 + 2, Timeout);
                devices = Ids(worker.Services.GetRequiredService<DeviceRegistry>());
                openAlerts = await OpenAlertsAsync(worker.Services);

                var stdout = new StringWriter();
                var stderr = new StringWriter();
                var code = await BackupCommand.RunAsync(["create", "--url", worker.BaseAddress.ToString(), "--key-file", keyFile, "--output", archive], stdout, stderr);
                var flowing = fleet.Published < fleet.TotalMessages;

                Assert.True(code == 0, $"create exited {code}: {stdout}{stderr}");
                Assert.True(flowing, "the fleet had finished before the backup: it was not taken under load");
                await fleet.CompletionAsync(Timeout);
                // The state the backup must give back did not change while it was taken.
                Assert.Equal(devices, Ids(worker.Services.GetRequiredService<DeviceRegistry>()));
                Assert.Equal(openAlerts, await OpenAlertsAsync(worker.Services));
            }

            Assert.Equal(Lamps + 1, devices.Count);
            Assert.Single(openAlerts);
            var restoreOut = new StringWriter();
            var restoreErr = new StringWriter();
            Assert.Equal(0, await BackupCommand.RunAsync(["restore", archive, "--target", target], restoreOut, restoreErr));

            // A new worker (its own client id and data folder) on the restored state folder.
            await using var restored = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
            {
                ["Registry:File"] = Path.Combine(target, "registry.json"),
                ["Alerting:StateFile"] = Path.Combine(target, "alerts.json"),
            });
            Assert.Equal(devices, Ids(restored.Services.GetRequiredService<DeviceRegistry>()));
            Assert.Equal(openAlerts, await OpenAlertsAsync(restored.Services));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task BackupRestore_DamagedArchive_RefusedAndNothingWritten()
    {
        var dir = Directory.CreateTempSubdirectory("smartcity-backup-");
        try
        {
            var archive = Path.Combine(dir.FullName, "backup.zip");
            await using (var file = File.Create(archive))
            {
                BackupArchive.Write(file, [("registry.json", "/var/lib/smartcity/registry.json", "[{\"deviceId\":\"lamp-1\"}]"u8.ToArray())], DateTimeOffset.UtcNow);
            }

            // Altered after the backup: the entry no longer matches the manifest's checksum.
            using (var zip = ZipFile.Open(archive, ZipArchiveMode.Update))
            {
                zip.GetEntry("registry.json")!.Delete();
                await using var stream = zip.CreateEntry("registry.json").Open();
                await stream.WriteAsync("[{\"deviceId\":\"lamp-2\"}]"u8.ToArray());
            }

            var stderr = new StringWriter();
            var code = await BackupCommand.RunAsync(["restore", archive, "--target", Path.Combine(dir.FullName, "restored")], new StringWriter(), stderr);

            Assert.Equal(1, code);
            Assert.Contains("registry.json: size or SHA-256 differs", stderr.ToString(), StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dir.FullName, "restored")));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task BackupRestore_IntoTheOldStateFolder_TheOldRegistrysAndAlertStatesJournalsRemoved()
    {
        var dir = Directory.CreateTempSubdirectory("smartcity-backup-");
        try
        {
            var archive = Path.Combine(dir.FullName, "backup.zip");
            var backedUp = "[{\"deviceId\":\"lamp-1\"}]"u8.ToArray();
            await using (var file = File.Create(archive))
            {
                BackupArchive.Write(file, [("registry.json", "/var/lib/smartcity/registry.json", backedUp), ("alerts.json", "/var/lib/smartcity/alerts.json", "{\"alerts\":[]}"u8.ToArray())], DateTimeOffset.UtcNow);
            }

            // The stopped worker's folder: its registry, and a journal of changes made after the backup.
            var target = Path.Combine(dir.FullName, "state");
            Directory.CreateDirectory(target);
            await File.WriteAllTextAsync(Path.Combine(target, "registry.json"), "[]");
            await File.WriteAllTextAsync(Path.Combine(target, "registry.json.journal.4"), "{\"op\":\"remove\",\"deviceId\":\"lamp-1\"}\n");
            await File.WriteAllTextAsync(Path.Combine(target, "alerts.json.journal.2"), "{\"removed\":\"7e56ea0f5650b9d2\"}\n");

            var stderr = new StringWriter();
            Assert.Equal(0, await BackupCommand.RunAsync(["restore", archive, "--target", target, "--force"], new StringWriter(), stderr));

            Assert.Equal(backedUp, await File.ReadAllBytesAsync(Path.Combine(target, "registry.json")));
            Assert.Empty(Directory.GetFiles(target, "registry.json.journal.*"));
            Assert.Empty(Directory.GetFiles(target, "alerts.json.journal.*"));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static HashSet<string> Ids(DeviceRegistry registry) => [.. registry.Devices.Select(d => d.DeviceId)];

    private static async Task<HashSet<string>> OpenAlertsAsync(IServiceProvider services) =>
        [.. (await services.GetRequiredService<AlertingService>().AlertsAsync()).Where(a => a.State != AlertState.Resolved).Select(a => a.Id)];
}

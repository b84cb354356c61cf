using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using SmartCity.Backup;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.OperatorConsole;
using SmartCity.OperatorConsole.Accounts;
using SmartCity.Telemetry.Lighting;
using SmartCity.Worker.Talq;

namespace SmartCity.IntegrationTests.Backup;

/// <summary>
/// The state beside the registry and the alerts that a worker rebuilt from a backup also needs: the
/// console accounts (with their city scope), the TALQ CMS's memory (last values included, which its store
/// writes only every few seconds) and the lighting state, each made by the running worker's own stores,
/// come back from <c>smartcity-backup create</c> + <c>restore</c> as the stores read them.
/// </summary>
public sealed class BackupStateFilesTests
{
    [Fact]
    public async Task BackupCreateRestore_ConsoleAccountsTalqAndLightingState_RestoredReadableByTheirStores()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var dir = Directory.CreateTempSubdirectory("smartcity-backup-state-");
        try
        {
            var (archive, target, keyFile) = (Path.Combine(dir.FullName, "backup.zip"), Path.Combine(dir.FullName, "restored"), Path.Combine(dir.FullName, "admin.key"));
            await File.WriteAllTextAsync(keyFile, TestApiKeys.Admin.Key);
            var clientId = TestServers.UniqueName("worker-");
            // The lighting state as the worker's lighting store writes it (a lamp's level), there when the worker starts.
            Directory.CreateDirectory(TestWorker.DataDirectory(clientId));
            new LightingStateFile(Path.Combine(TestWorker.DataDirectory(clientId), "lighting.json"))
                .Save(new LightingState { Levels = { ["lamp-b1"] = new LampLevel(true, 40, "cmd-b1") } });
            var (gateway, lamp) = (Guid.NewGuid(), Guid.NewGuid());

            await using (var worker = await TestWorker.StartAsync(db, clientId: clientId))
            {
                worker.Services.GetRequiredService<AccountStore>().SetAccount("bea.backup", ConsoleRoles.Operator, "a-long-password-1", "lyon", ["d01"]);
                var talq = worker.Services.GetRequiredService<TalqDeviceStore>();
                var announced = new TalqStoredDevice { Owner = gateway, Profile = "streetlight", Device = new JsonObject { ["address"] = lamp.ToString(), ["name"] = "l", ["class"] = "c" } };
                talq.Commit(new Dictionary<Guid, TalqStoredDevice?> { [lamp] = announced });
                // A last value held in memory only (written with the next periodic save): the backup must still have it.
                talq.Commit(new Dictionary<Guid, TalqStoredDevice?> { [lamp] = announced with { Values = announced.Values.Apply([new TalqLogValue(lamp, null, "dim_pct", 40, null)]) } }, durable: false);

                var (stdout, stderr) = (new StringWriter(), new StringWriter());
                var code = await BackupCommand.RunAsync(["create", "--url", worker.BaseAddress.ToString(), "--key-file", keyFile, "--output", archive], stdout, stderr);
                Assert.True(code == 0, $"create exited {code}: {stdout}{stderr}");
            }

            var (restoreOut, restoreErr) = (new StringWriter(), new StringWriter());
            Assert.True(await BackupCommand.RunAsync(["restore", archive, "--target", target], restoreOut, restoreErr) == 0, restoreErr.ToString());

            // Where a worker pointed at the restored folder looks by default (beside alerts.json, beside registry.json).
            using var accounts = new AccountStore(new ConsoleOptions().ResolveUsersFile(Path.Combine(target, "alerts.json")), 5, TimeSpan.FromMinutes(15), TimeProvider.System);
            var account = Assert.Single(accounts.Accounts, a => a.Name == "bea.backup");
            Assert.Equal((ConsoleRoles.Operator, "lyon", "d01"), (account.Role, account.City, Assert.Single(account.Districts)));
            var cms = new TalqDeviceStore(Path.Combine(target, "talq-cms.json"));
            Assert.Null(cms.Problem);
            Assert.Equal(gateway, cms.Find(lamp)?.Owner);
            Assert.Equal(40, cms.Find(lamp)!.Values.Numbers["dim_pct"]);
            var lighting = new LightingStateFile(Path.Combine(target, "lighting.json")).Load(out var error);
            Assert.Null(error);
            Assert.Equal(40, lighting!.Levels["lamp-b1"].DimPct);
            // The lighting state is not found beside the registry by default: restore says where to point the worker.
            Assert.Contains($"SMARTCITY_Lighting__StateFile={Path.Combine(target, "lighting.json")}", restoreOut.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}

using System.Text.Json.Nodes;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Worker.Talq;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>The TALQ CMS state file on its own: what is written when, and an unreadable file named, not ignored.</summary>
public sealed class TalqDeviceStoreTests
{
    private static string NewPath() => Path.Combine(Path.GetTempPath(), TestServers.UniqueName("talq-store-"), "talq-cms.json");

    [Fact]
    public void Commit_AnnouncementIsOnDiskAtOnce_LastValuesOnlyAfterSaveIfChanged()
    {
        var path = NewPath();
        var store = new TalqDeviceStore(path);
        var gateway = Guid.NewGuid();
        var lamp = Guid.NewGuid();
        var announced = new TalqStoredDevice { Owner = gateway, Profile = "streetlight", Device = new JsonObject { ["address"] = lamp.ToString(), ["name"] = "l", ["class"] = "c" } };

        store.Commit(new Dictionary<Guid, TalqStoredDevice?> { [lamp] = announced });
        Assert.Equal(gateway, new TalqDeviceStore(path).Find(lamp)?.Owner);
        Assert.Equal(gateway, store.Owners.OwnerOf(lamp));

        var valued = announced with { Values = announced.Values.Apply([new TalqLogValue(lamp, null, "dim_pct", 40, null)]) };
        store.Commit(new Dictionary<Guid, TalqStoredDevice?> { [lamp] = valued }, durable: false);
        Assert.Equal(40, store.Find(lamp)!.Values.Numbers["dim_pct"]);
        Assert.Empty(new TalqDeviceStore(path).Find(lamp)!.Values.Numbers); // not written yet
        store.SaveIfChanged();
        Assert.Equal(40, new TalqDeviceStore(path).Find(lamp)!.Values.Numbers["dim_pct"]);

        store.Commit(new Dictionary<Guid, TalqStoredDevice?> { [lamp] = null });
        Assert.Null(new TalqDeviceStore(path).Find(lamp));
        Assert.Null(store.Owners.OwnerOf(lamp));
    }

    [Fact]
    public void Load_UnreadableFile_IsAProblemNamingTheFile()
    {
        var path = NewPath();
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{ \"devices\": ");
        var store = new TalqDeviceStore(path);
        Assert.Contains(path, store.Problem, StringComparison.Ordinal);
        Assert.Empty(store.Owners.ByDevice);
    }
}

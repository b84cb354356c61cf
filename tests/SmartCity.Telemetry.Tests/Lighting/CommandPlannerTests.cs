using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Lighting;

namespace SmartCity.Telemetry.Tests.Lighting;

public sealed class CommandPlannerTests
{
    private static readonly ProfileSet Profiles = new(
    [
        Profile("streetlight", ["switch", "dim"]),
        Profile("streetlight_lpwan", ["switch"]),
        Profile("lighting_cabinet", []),
    ], []);

    private static DeviceProfile Profile(string id, List<string> commands) => new()
    {
        Id = id, Version = "1.0.0", Sector = "lighting", DeviceType = id, ExpectedInterval = TimeSpan.FromMinutes(5),
        Messages = [], Commands = commands,
    };

    private static DeviceRecord Device(string id, string profile, string site = "s1", bool online = true) => new()
    {
        DeviceId = id, Sector = "lighting", District = "d01", Site = site, DeviceType = profile, Profile = profile, Online = online,
    };

    private static readonly DeviceRecord[] Devices =
    [
        Device("lamp-1", "streetlight"),
        Device("lamp-2", "streetlight", online: false),
        Device("lora-1", "streetlight_lpwan"),
        Device("cab-1", "lighting_cabinet"),
        Device("lamp-9", "streetlight", site: "s2"),
    ];

    private static CommandRequest Dim(TargetKind kind, string target, double level, bool schedule = false) =>
        new() { TargetKind = kind, Target = target, DimPct = level, By = "anna", Reason = "test", SwitchWhereNoDim = schedule };

    [Fact]
    public void Plan_DimSite_OnlyLampsThatDimAndAreOnline_OthersSkippedWithReason()
    {
        var (lamps, skipped, refusal) = CommandPlanner.Plan(Dim(TargetKind.Site, "s1", 40), Devices, new Dictionary<string, string>(), Profiles);

        Assert.Null(refusal);
        Assert.Equal("lamp-1", Assert.Single(lamps).Device.DeviceId);
        Assert.Equal(["cab-1", "lamp-2", "lora-1"], skipped.Select(s => s.DeviceId).Order());
        Assert.Contains("does not support 'dim' (commands: switch)", skipped.Single(s => s.DeviceId == "lora-1").Reason, StringComparison.Ordinal);
        Assert.StartsWith("offline", skipped.Single(s => s.DeviceId == "lamp-2").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Plan_ScheduleDimStep_SwitchOnlyLampSwitchedOnAtFull()
    {
        var (lamps, _, _) = CommandPlanner.Plan(Dim(TargetKind.District, "d01", 50, schedule: true), Devices, new Dictionary<string, string>(), Profiles);

        var lora = lamps.Single(l => l.Device.DeviceId == "lora-1");
        Assert.Equal((true, 100d), (lora.On, lora.DimPct));
        Assert.Equal(50, lamps.Single(l => l.Device.DeviceId == "lamp-1").DimPct);
    }

    [Fact]
    public void Plan_Cabinet_TheLampsItFeeds()
    {
        var parents = new Dictionary<string, string> { ["lamp-9"] = "cab-1", ["lamp-1"] = "cab-7" };

        var (lamps, _, refusal) = CommandPlanner.Plan(Dim(TargetKind.Cabinet, "cab-1", 0), Devices, parents, Profiles);

        Assert.Null(refusal);
        var lamp = Assert.Single(lamps);
        Assert.Equal(("lamp-9", false, 0d), (lamp.Device.DeviceId, lamp.On, lamp.DimPct));
    }

    [Fact]
    public void Plan_UnknownLamp_RefusedNamingIt()
    {
        var (lamps, _, refusal) = CommandPlanner.Plan(Dim(TargetKind.Lamp, "lamp-404", 10), Devices, new Dictionary<string, string>(), Profiles);

        Assert.Empty(lamps);
        Assert.NotNull(refusal);
        Assert.True(refusal.NotFound);
        Assert.Contains("'lamp-404'", refusal.Detail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(null, null, "say what to do")]
    [InlineData(null, 101.0, "between 0 and 100")]
    [InlineData(false, 30.0, "contradicts")]
    public void Invalid_BadRequests_Named(bool? on, double? dim, string expected)
    {
        var request = new CommandRequest { TargetKind = TargetKind.Lamp, Target = "lamp-1", On = on, DimPct = dim, By = "anna", Reason = "test" };
        Assert.Contains(expected, CommandPlanner.Invalid(request), StringComparison.Ordinal);
    }
}

using System.Security.Claims;
using Microsoft.Extensions.Configuration;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Tenancy;

namespace SmartCity.Telemetry.Tests.Tenancy;

/// <summary>The one scope of API keys and console accounts: city first, then districts.</summary>
public sealed class CityScopeTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 7, 9, 0, 0, TimeSpan.Zero);

    private static IConfiguration Worker(string? city) => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Tenancy:City"] = city,
        ["Decoding:TopicRoot"] = "region/lyon",
    }).Build();

    private static ClaimsPrincipal User(string? city, params string[] districts) => new(new ClaimsIdentity(CityScope.Claims(city, districts), "test"));

    private static DeviceRecord Device(string district) => new()
    {
        DeviceId = "lamp-" + district, Sector = "lighting", District = district, Site = "s1", DeviceType = "streetlight", Profile = "streetlight",
        Firmware = null, Lat = null, Lon = null, Online = true, FirstSeen = T0, LastSeen = T0, LastBirth = T0,
    };

    private static Rejection RejectionOn(string topic) => new(T0, "bad", "detail", topic, null, 2, "{}");

    [Fact]
    public void Of_NoClaims_SeesEverything()
    {
        var scope = CityScope.Of(User(null), Worker(null));
        Assert.True(scope.Sees(Device("d01")));
        Assert.True(scope.Sees(RejectionOn("elsewhere/x")));
    }

    [Fact]
    public void Of_CityOfAnotherWorkerOrAWorkerOfNoCity_SeesNothing()
    {
        Assert.False(CityScope.Of(User("vienne"), Worker("lyon")).Sees(Device("d01")));
        Assert.False(CityScope.Of(User("vienne"), Worker(null)).SeesDistrict("d01"));
        Assert.True(CityScope.Of(User("lyon"), Worker("lyon")).Sees(Device("d07")));
    }

    [Fact]
    public void Of_DistrictsWithOrWithoutCity_SeesOnlyThoseDistrictsAndTheirTopics()
    {
        foreach (var scope in new[] { CityScope.Of(User("lyon", "d01", "d02"), Worker("lyon")), CityScope.Of(User(null, "d01", "d02"), Worker("lyon")) })
        {
            Assert.True(scope.Sees(Device("d02")));
            Assert.False(scope.Sees(Device("d03")));
            Assert.True(scope.Sees(RejectionOn("region/lyon/lighting/d01/s1/streetlight/lamp-1/telemetry")));
            Assert.False(scope.Sees(RejectionOn("region/lyon/lighting/d03/s1/streetlight/lamp-1/telemetry")));
            Assert.False(scope.Sees(RejectionOn("region/vienne/lighting/d01/s1/streetlight/lamp-1/telemetry")));
        }
    }

    [Theory]
    [InlineData("d01", true)]
    [InlineData("lyon.centre-2_a", true)]
    [InlineData("d01/#", false)]
    [InlineData("+", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsValidId_TopicLevelAlphabet(string? value, bool valid) => Assert.Equal(valid, CityScope.IsValidId(value));
}

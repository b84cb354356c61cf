using SmartCity.Simulators.Lighting;

namespace SmartCity.Simulators.Tests.Physics;

public sealed class LampCommandOptionsTests
{
    private static readonly string[] Lamps = [.. Enumerable.Range(1, 2000).Select(i => $"lamp-{i:000000}")];

    [Fact]
    public void ResponseOf_Shares_RoughlyAsConfiguredAndStablePerLamp()
    {
        var options = new LampCommandOptions { RefusePercent = 10, IgnorePercent = 5, LagPercent = 20 };

        var counts = Lamps.GroupBy(options.ResponseOf).ToDictionary(g => g.Key, g => g.Count() * 100.0 / Lamps.Length);

        Assert.InRange(counts[LampResponse.Refuse], 7, 13);
        Assert.InRange(counts[LampResponse.Ignore], 3, 7);
        Assert.InRange(counts[LampResponse.Lag], 16, 24);
        Assert.All(Lamps, l => Assert.Equal(options.ResponseOf(l), options.ResponseOf(l)));
    }

    [Fact]
    public void ResponseOf_NoMisbehaviour_EveryLampObeys() =>
        Assert.All(Lamps, l => Assert.Equal(LampResponse.Obey, new LampCommandOptions().ResponseOf(l)));

    [Fact]
    public void Create_CommandedLamp_TelemetryShowsTheCommandedLevel()
    {
        var fleet = new StreetLightFleet(2, 1, "city", 1, new DateTimeOffset(2026, 12, 7, 22, 0, 0, TimeSpan.Zero), TimeSpan.FromMinutes(1));
        fleet.Commanded["lamp-000001"] = (true, 30);

        var commanded = System.Text.Encoding.UTF8.GetString(fleet.Create(0).Payload);
        var natural = System.Text.Encoding.UTF8.GetString(fleet.Create(1).Payload);

        Assert.Contains("\"dim_pct\":30", commanded, StringComparison.Ordinal);
        Assert.Contains("\"dim_pct\":100", natural, StringComparison.Ordinal);
    }
}

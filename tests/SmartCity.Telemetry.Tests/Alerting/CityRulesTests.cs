using System.Text;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Alerting.Rules;
using static SmartCity.Telemetry.Tests.Alerting.AlertTestKit;

namespace SmartCity.Telemetry.Tests.Alerting;

/// <summary>The city rules file: precedence of its overrides, and its checks at start.</summary>
public sealed class CityRulesTests
{
    private static CityRulesLoadResult Parse(string json) => CityRulesLoader.Parse("city-rules.json", Encoding.UTF8.GetBytes(json), Profiles);

    private static CityRules Load(string json)
    {
        var result = Parse(json);
        Assert.True(result.Ok, string.Join(Environment.NewLine, result.Errors));
        return result.Rules;
    }

    private static readonly CityRules Overrides = Load("""
        {
          // North is a newer building: ventilate earlier.
          "overrides": [
            { "rule": "co2_high", "district": "north", "above": 1400 },
            { "rule": "co2_high", "device": "cls-7", "above": 1600, "clear": 1300 },
            { "rule": "co2_high", "site": "school-9", "district": "north", "for": "00:00:00" },
            { "rule": "lamp_dark_at_night", "device": "lamp-000123", "enabled": false },
            { "rule": "battery_low", "profile": "panic_button", "severity": "major" },
          ]
        }
        """);

    private static AlertRule RuleOf(string profileId, DeviceIdentity device, string rule)
    {
        var profile = Profiles.Single(p => p.Id == profileId);
        return Overrides.For(profile, device).Single(r => r.Rule == rule);
    }

    [Fact]
    public void For_DistrictOverride_AppliesInItsDistrictOnly()
    {
        Assert.Equal(1400, RuleOf("classroom_env", new("cls-1", "education", "north", "school-1", "classroom_env"), "co2_high").Above);
        Assert.Equal(1500, RuleOf("classroom_env", new("cls-1", "education", "south", "school-1", "classroom_env"), "co2_high").Above);
    }

    [Fact]
    public void For_DeviceOverride_WinsOverDistrict_AndKeepsWhatItDoesNotSet()
    {
        var rule = RuleOf("classroom_env", new("cls-7", "education", "north", "school-1", "classroom_env"), "co2_high");
        Assert.Equal((1600.0, 1300.0, TimeSpan.FromMinutes(10)), (rule.Above!.Value, rule.Clear!.Value, rule.For));
    }

    [Fact]
    public void For_SiteOverride_MergesWithDistrict()
    {
        var rule = RuleOf("classroom_env", new("cls-1", "education", "north", "school-9", "classroom_env"), "co2_high");
        Assert.Equal((1400.0, TimeSpan.Zero), (rule.Above!.Value, rule.For));
    }

    [Fact]
    public void For_ProfileScopedOverride_LeavesOtherProfilesSameRuleAlone()
    {
        Assert.Equal(AlertSeverity.Major, RuleOf("panic_button", new("pb-1", "security", "north", "s", "panic_button"), "battery_low").Severity);
        Assert.Equal(AlertSeverity.Minor, RuleOf("door_contact", new("d-1", "security", "north", "s", "door_contact"), "battery_low").Severity);
    }

    [Fact]
    public void Engine_DistrictVersusDevicePrecedence_DecidesWhatRaises()
    {
        using var kit = new AlertTestKit(start: new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.FromHours(1)), rules: Overrides);
        var raisedBy = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            foreach (var device in new[] { "cls-1", "cls-7" })
            {
                raisedBy.AddRange(kit.Observe(Classroom(kit.Now, device).Field("co2_ppm", 1450.0 + i), "classroom_env")
                    .Where(t => t.Alert.Rule == "co2_high").Select(t => t.Alert.DeviceId));
            }

            kit.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Equal(["cls-1"], raisedBy); // 1450 is above north's 1400, but not above cls-7's own 1600
    }

    [Fact]
    public void Engine_DeviceMovesToAnotherSite_TakesTheRulesOfItsNewSite()
    {
        using var kit = new AlertTestKit(start: new DateTimeOffset(2026, 11, 25, 10, 0, 0, TimeSpan.FromHours(1)), rules: Overrides);
        kit.Observe(Classroom(kit.Now, "cls-3", site: "school-1"), "classroom_env");
        Assert.NotEqual(TimeSpan.Zero, kit.Engine.StateOf("cls-3")!.Value.Rules.Single(r => r.Rule == "co2_high").For);

        kit.Observe(Classroom(kit.Now, "cls-3", site: "school-9"), "classroom_env");

        var (identity, rules) = kit.Engine.StateOf("cls-3")!.Value;
        Assert.Equal("school-9", identity.Site);
        Assert.Equal(TimeSpan.Zero, rules.Single(r => r.Rule == "co2_high").For); // school-9's override
    }

    [Fact]
    public void Engine_ManyDevices_ShareOneInstanceOfEachNameAndRuleList()
    {
        using var kit = new AlertTestKit(persist: false);
        for (var i = 0; i < 100; i++)
        {
            // Each message brings its own strings, as decoded messages do.
            kit.Observe(Lamp(kit.Now, $"lamp-{i}", new string("north".AsSpan()), new string($"street-{i % 4}".AsSpan())), "streetlight");
        }

        var states = Enumerable.Range(0, 100).Select(i => kit.Engine.StateOf($"lamp-{i}")!.Value).ToList();
        IEqualityComparer<object> same = ReferenceEqualityComparer.Instance;
        Assert.Single(states.Select(s => (object)s.Identity.District).Distinct(same));
        Assert.Equal(4, states.Select(s => (object)s.Identity.Site).Distinct(same).Count());
        Assert.Single(states.Select(s => (object)s.Identity.DeviceType).Distinct(same));
        Assert.Single(states.Select(s => (object)s.Rules).Distinct(same)); // no override: the profile's one list
    }

    [Fact]
    public void Engine_DisabledRuleForOneDevice_NeverRaisesThere()
    {
        var night = ScheduleNight();
        using var kit = new AlertTestKit(start: night, rules: Load("""
            { "overrides": [
              { "rule": "lamp_dark_at_night", "for": "00:00:00" },
              { "rule": "lamp_dark_at_night", "device": "lamp-000123", "enabled": false } ] }
            """));
        Assert.Empty(kit.Observe(Lamp(kit.Now, "lamp-000123").Field("power_w", 0.0), "streetlight"));
        Assert.Single(kit.Observe(Lamp(kit.Now, "lamp-000124").Field("power_w", 0.0), "streetlight"));
        Assert.False(kit.Engine.RulesFor(new("lamp-000123", "lighting", "north", "park", "streetlight"), "streetlight").Single(r => r.Rule == "lamp_dark_at_night").Enabled);
    }

    [Fact]
    public void Parse_UnknownRule_NamesFileIndexAndRule()
    {
        var error = Assert.Single(Parse("""{ "overrides": [ { "rule": "co2_high", "above": 1400 }, { "rule": "co2_hihg", "above": 1400 } ] }""").Errors);
        Assert.StartsWith("city-rules.json: overrides[1] (rule 'co2_hihg'): no profile has this rule", error);
        Assert.Contains("co2_high", error); // the known rules are listed
    }

    [Theory]
    [InlineData("""{ "rule": "co2_high", "above": 1100 }""", "clear (1200) must not be above the raise level above (1100)")]
    [InlineData("""{ "rule": "battery_low", "profile": "panic_button", "below": 30 }""", "clear (25) must not be below the raise level below (30)")]
    [InlineData("""{ "rule": "door_forced", "above": 1 }""", "apply to threshold and rate rules")]
    [InlineData("""{ "rule": "co2_high", "severity": "urgent" }""", "severity 'urgent' must be critical, major, minor or warning")]
    [InlineData("""{ "rule": "co2_high", "schedule": "weekends" }""", "schedule 'weekends'")]
    [InlineData("""{ "rule": "co2_high", "device": "cls-1", "district": "north" }""", "leave out district and site")]
    [InlineData("""{ "rule": "co2_high", "profile": "toaster" }""", "profile 'toaster' is not a known profile")]
    [InlineData("""{ "rule": "panic", "for": "00:05:00" }""", "for does not apply to event rules")]
    public void Parse_BadOverride_ErrorNamesTheRuleAndTheProblem(string entry, string problem)
    {
        var errors = Parse($$"""{ "overrides": [ {{entry}} ] }""").Errors;
        var error = Assert.Single(errors);
        Assert.StartsWith("city-rules.json: overrides[0] (rule '", error);
        Assert.Contains(problem, error);
    }

    [Fact]
    public void Parse_DuplicateScope_IsAnError()
    {
        var error = Assert.Single(Parse("""{ "overrides": [ { "rule": "co2_high", "district": "n", "above": 1400 }, { "rule": "co2_high", "district": "n", "for": "00:05:00" } ] }""").Errors);
        Assert.Contains("overrides[1] (rule 'co2_high'): same rule and scope as overrides[0]", error);
    }

    [Fact]
    public void Parse_UnknownPropertyOrBadJson_NamesLine()
    {
        var misspelt = Assert.Single(Parse("{\n \"overrides\": [\n  { \"rule\": \"co2_high\", \"abov\": 1400 } ] }").Errors);
        Assert.StartsWith("city-rules.json:3: ", misspelt);
        Assert.Contains("abov", misspelt);
        Assert.StartsWith("city-rules.json:2: ", Assert.Single(Parse("{ \"overrides\": [\n  { \"rule\": } ] }").Errors));
    }

    [Fact]
    public void Parse_BadFile_LeavesNoOverridesInForce()
    {
        var result = Parse("""{ "overrides": [ { "rule": "co2_high", "above": 1400 }, { "rule": "nope" } ] }""");
        Assert.False(result.Ok);
        Assert.Empty(result.Rules.Overrides);
    }

    [Fact]
    public void Load_ConfiguredFileMissing_IsAnError_NoFileConfigured_IsFine()
    {
        Assert.Contains("does not exist", Assert.Single(CityRulesLoader.Load("/no/such/city-rules.json", Profiles).Errors));
        Assert.True(CityRulesLoader.Load(null, Profiles).Ok);
    }

    private static DateTimeOffset ScheduleNight() => new(2026, 11, 28, 22, 0, 0, TimeSpan.Zero);
}

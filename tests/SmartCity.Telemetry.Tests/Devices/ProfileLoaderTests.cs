using System.Text;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Tests.Devices;

public sealed class ProfileLoaderTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "smartcity-profiles-" + Guid.NewGuid().ToString("N"));

    public ProfileLoaderTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private const string Parking = """
        {
          "id": "parking_bay",
          "version": "1.0.0",
          "sector": "security",
          "deviceType": "parking_bay",
          "expectedInterval": "00:10:00",
          "messages": {
            "telemetry": {
              "measurement": "parking_bay",
              "fields": [
                { "name": "occupied", "type": "bool", "required": true },
                { "name": "battery_pct", "type": "float", "min": 0, "max": 100 }
              ]
            }
          }
        }
        """;

    private static (DeviceProfile? Profile, ProfileError? Error) Parse(string json) => ProfileLoader.Parse("test.json", Encoding.UTF8.GetBytes(json));

    [Fact]
    public void Parse_ValidProfile_Loads()
    {
        var (profile, error) = Parse(Parking);
        Assert.Null(error);
        Assert.Equal("parking_bay", profile!.Id);
        Assert.Equal(TimeSpan.FromMinutes(10), profile.ExpectedInterval);
    }

    [Fact]
    public void Parse_MinGreaterThanMax_NamesFileLineAndProperty()
    {
        var (_, error) = Parse(Parking.Replace("\"min\": 0, \"max\": 100", "\"min\": 100, \"max\": 0", StringComparison.Ordinal));

        var problem = Assert.Single(error!.Problems);
        Assert.Equal("test.json:12: $.messages.telemetry.fields[1].max: must not be less than min (100)", problem);
    }

    [Fact]
    public void Parse_ClearEventOnAThresholdRule_OrEqualToTheRaisingEvent_Refused()
    {
        var withRules = Parking.Replace("""
            "messages": {
            """, """
            "alerts": [
                { "rule": "bay_blocked", "severity": "minor", "kind": "flag", "field": "occupied", "clearEvent": "freed" },
                { "rule": "bay_alarm", "severity": "minor", "kind": "event", "event": "alarm", "clearEvent": "alarm" },
                { "rule": "bay_tamper", "severity": "minor", "kind": "event", "event": "tamper", "clearEvent": "tamper_cleared" }
              ],
              "messages": {
            """, StringComparison.Ordinal);
        Assert.NotEqual(Parking, withRules);

        var (_, error) = Parse(withRules);

        Assert.Equal(2, error!.Problems.Count);
        Assert.Contains(error.Problems, p => p.Contains("$.alerts[0].clearEvent: only event rules", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("$.alerts[1].clearEvent: must name another event value", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ResolveAfterQuietOnANonEventRule_OrOutOfRange_Refused_OnAnEventRule_Kept()
    {
        var withRules = Parking.Replace("""
            "messages": {
            """, """
            "alerts": [
                { "rule": "bay_blocked", "severity": "minor", "kind": "flag", "field": "occupied", "resolveAfterQuiet": "00:15:00" },
                { "rule": "bay_alarm", "severity": "minor", "kind": "event", "event": "alarm", "resolveAfterQuiet": "00:00:00" },
                { "rule": "bay_long", "severity": "minor", "kind": "event", "event": "alarm", "resolveAfterQuiet": "2.00:00:00" },
                { "rule": "bay_tamper", "severity": "minor", "kind": "event", "event": "tamper", "resolveAfterQuiet": "00:15:00" }
              ],
              "messages": {
            """, StringComparison.Ordinal);
        Assert.NotEqual(Parking, withRules);

        var (_, error) = Parse(withRules);

        Assert.Equal(3, error!.Problems.Count);
        Assert.Contains(error.Problems, p => p.Contains("$.alerts[0].resolveAfterQuiet: only event rules", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("$.alerts[1].resolveAfterQuiet: must be between", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.Contains("$.alerts[2].resolveAfterQuiet: must be between", StringComparison.Ordinal));
        Assert.DoesNotContain(error.Problems, p => p.Contains("$.alerts[3]", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_UnknownPropertyTypo_RefusedWithLine()
    {
        var (_, error) = Parse(Parking.Replace("\"required\": true", "\"requird\": true", StringComparison.Ordinal));

        var problem = Assert.Single(error!.Problems);
        Assert.StartsWith("test.json:11: $.messages.telemetry.fields[0].requird:", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SyntaxError_RefusedWithLine()
    {
        var (_, error) = Parse(Parking.Replace("\"sector\": \"security\",", "\"sector\": \"security\"", StringComparison.Ordinal));

        Assert.StartsWith("test.json:5:", Assert.Single(error!.Problems), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SeveralProblems_AllReportedAtOnce()
    {
        var json = Parking
            .Replace("\"sector\": \"security\"", "\"sector\": \"parking\"", StringComparison.Ordinal)
            .Replace("\"type\": \"bool\"", "\"type\": \"enum\"", StringComparison.Ordinal);

        var (_, error) = Parse(json);

        Assert.Contains(error!.Problems, p => p.StartsWith("test.json:4: $.sector:", StringComparison.Ordinal));
        Assert.Contains(error.Problems, p => p.StartsWith("test.json:11: $.messages.telemetry.fields[0].values:", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_UnknownPropertyAndSeveralOtherErrors_AllReportedAtOnce()
    {
        // Issue 24 item 5: the unknown property stopped the reading, and the other problems stayed hidden.
        var json = Parking
            .Replace("\"required\": true", "\"requird\": true", StringComparison.Ordinal)
            .Replace("\"version\": \"1.0.0\"", "\"version\": \"one\"", StringComparison.Ordinal)
            .Replace("\"sector\": \"security\"", "\"sector\": \"parking\"", StringComparison.Ordinal)
            .Replace("\"expectedInterval\": \"00:10:00\",", "\"expectedInterval\": \"00:10:00\", \"colour\": \"blue\",", StringComparison.Ordinal)
            .Replace("\"min\": 0, \"max\": 100", "\"min\": 100, \"max\": 0", StringComparison.Ordinal);

        var (profile, error) = Parse(json);

        Assert.Null(profile);
        Assert.Equal(
            [
                "test.json:3: $.version: must be a semantic version such as 1.0.0",
                "test.json:4: $.sector: must be one of the configured sectors (Decoding:Sectors): lighting, education, security",
                "test.json:12: $.messages.telemetry.fields[1].max: must not be less than min (100)",
            ],
            error!.Problems.Where(p => !p.Contains("unknown property", StringComparison.Ordinal)));
        var unknown = error.Problems.Where(p => p.Contains("unknown property", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, unknown.Count);
        Assert.StartsWith("test.json:6: $.colour: unknown property 'colour'", unknown[0], StringComparison.Ordinal);
        Assert.StartsWith("test.json:11: $.messages.telemetry.fields[0].requird: unknown property 'requird'", unknown[1], StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownPropertyAndAWrongType_BothReported()
    {
        var json = Parking
            .Replace("\"required\": true", "\"requird\": true", StringComparison.Ordinal)
            .Replace("\"min\": 0", "\"min\": \"zero\"", StringComparison.Ordinal);

        var (_, error) = Parse(json);

        Assert.Equal(2, error!.Problems.Count);
        Assert.StartsWith("test.json:11: $.messages.telemetry.fields[0].requird: unknown property", error.Problems[0], StringComparison.Ordinal);
        Assert.StartsWith("test.json:12: $.messages.telemetry.fields[1].min:", error.Problems[1], StringComparison.Ordinal);
    }

    [Fact]
    public void LoadAll_ProfileOfAConfiguredSector_Loads()
    {
        // Issue 24 item 4: sectors are configuration (Decoding:Sectors), so a waste-bin profile must load when 'waste' is configured.
        File.WriteAllText(Path.Combine(_folder, "bin.json"), Parking.Replace("\"sector\": \"security\"", "\"sector\": \"waste\"", StringComparison.Ordinal));

        var withWaste = ProfileLoader.LoadAll(_folder, ["lighting", "education", "security", "waste"]);
        var defaults = ProfileLoader.LoadAll(_folder);

        Assert.Empty(withWaste.Errors);
        Assert.Equal("waste", withWaste.Find("parking_bay")!.Sector);
        Assert.Contains(":4: $.sector: must be one of the configured sectors (Decoding:Sectors): lighting, education, security", Assert.Single(defaults.Errors).ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void LoadAll_OneBadFileInFolder_RefusedWhileOthersLoad()
    {
        File.WriteAllText(Path.Combine(_folder, "parking.json"), Parking);
        File.WriteAllText(Path.Combine(_folder, "broken.json"), Parking.Replace("parking_bay", "Parking Bay", StringComparison.Ordinal));

        var set = ProfileLoader.LoadAll(_folder);

        Assert.NotNull(set.Find("parking_bay"));
        Assert.NotNull(set.Find("streetlight"));
        var refused = Assert.Single(set.Errors);
        Assert.EndsWith("broken.json", refused.Source, StringComparison.Ordinal);
        Assert.Contains(refused.Problems, p => p.Contains(":2: $.id:", StringComparison.Ordinal));
    }

    [Fact]
    public void LoadAll_DuplicateOfBuiltIn_Refused()
    {
        File.WriteAllText(Path.Combine(_folder, "mine.json"), Parking.Replace("\"id\": \"parking_bay\"", "\"id\": \"streetlight\"", StringComparison.Ordinal));

        var set = ProfileLoader.LoadAll(_folder);

        Assert.Contains("clashes with built-in", Assert.Single(set.Errors).ToString(), StringComparison.Ordinal);
        Assert.Equal("built-in profiles/streetlight/profile.json", set.Find("streetlight")!.Source);
    }
}

using SmartCity.ProfileTool;
using SmartCity.Tests.CommandLine;

namespace SmartCity.Telemetry.Tests.Devices;

public class ProfileToolTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string Profile(string id) => Path.Combine(ProfileGoldenTests.RepositoryRoot, "profiles", id, "profile.json");

    [Fact]
    public void Check_ProfileOfAConfiguredSector_RefusedByDefault_AcceptedWithTheCitysSectors()
    {
        // Issue 24 item 4: the worker takes profiles of its configured sectors (Decoding:Sectors); the tool
        // an integrator checks a new profile with must judge it the same way.
        var file = Path.Combine(Path.GetTempPath(), $"waste-bin-{Guid.NewGuid():N}.json");
        File.WriteAllText(file, """
            {
              "id": "waste_bin", "version": "1.0.0", "sector": "waste", "deviceType": "waste_bin", "expectedInterval": "00:15:00",
              "messages": { "telemetry": { "measurement": "waste_bin",
                "fields": [ { "name": "fill_pct", "type": "float", "unit": "%", "required": true, "min": 0, "max": 100 } ] } },
              "alerts": [ { "rule": "bin_full", "severity": "minor", "kind": "threshold", "field": "fill_pct", "above": 90, "clear": 70 } ]
            }
            """);
        try
        {
            var (refusedCode, _, refused) = Run("check", file);
            var (code, output, _) = Run("check", file, "--sectors", "lighting,education,security,waste",
                "--topic", "city/waste/d01/s1/waste_bin/bin-1/telemetry", "--payload-text", """{"v":1,"ts":"2026-11-28T21:59:30Z","fill_pct":93}""",
                "--received", "2026-11-28T22:00:00Z");

            Assert.Equal(1, refusedCode);
            Assert.Contains("$.sector", refused, StringComparison.Ordinal);
            Assert.True(code == 0, output);
            Assert.Contains("ACCEPTED", output, StringComparison.Ordinal);
            Assert.Contains("waste_bin,device_id=bin-1,device_type=waste_bin,district=d01,sector=waste,site=s1 fill_pct=93", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Check_ValidProfile_DescribesFieldsAndExitsZero()
    {
        var (code, output, _) = Run("check", Profile("streetlight"));

        Assert.Equal(0, code);
        Assert.Contains("OK streetlight", output, StringComparison.Ordinal);
        Assert.Contains("dim_pct (required): float [0..100] % -> dim_pct", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_Sample_PrintsTheLineTheWorkerWouldStore()
    {
        var (code, output, _) = Run("check", Profile("streetlight"), "--topic", "city/lighting/d01/s1/streetlight/l1/telemetry",
            "--payload-text", """{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":50,"power_w":20}""", "--received", "2026-11-28T22:00:00Z");

        Assert.Equal(0, code);
        Assert.Contains("street_light,device_id=l1,device_type=streetlight,district=d01,sector=lighting,site=s1 on=true,dim_pct=50,power_w=20,", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_BadSample_PrintsReasonAndExitsTwo()
    {
        var (code, output, _) = Run("check", Profile("streetlight"), "--topic", "city/lighting/d01/s1/streetlight/l1/telemetry",
            "--payload-text", """{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":50}""", "--received", "2026-11-28T22:00:00Z");

        Assert.Equal(2, code);
        Assert.Contains("REJECTED MissingField: 'power_w' is required", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_BrokenProfile_ListsProblemsAndExitsOne()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, File.ReadAllText(Profile("streetlight")).Replace("\"max\": 100,", "\"max\": -1,", StringComparison.Ordinal));

            var (code, _, errors) = Run("check", file);

            Assert.Equal(1, code);
            Assert.Contains("$.messages.telemetry.fields[1].max: must not be less than min (0)", errors, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("--help")]
    [InlineData("-h")]
    [InlineData("list", "--help")]
    [InlineData("check", "--help")]
    [InlineData("check", "-h")]
    public void Run_Help_UsageOnStdoutExitZero(params string[] args) =>
        CommandLineAssert.Help(Run(args), string.Join(' ', ["smartcity-profile", .. args.SkipLast(1)]));

    [Fact]
    public void Run_CheckHelp_ListsTheSampleOptions() =>
        CommandLineAssert.Lists(Run("check", "--help").Out, "--topic", "--payload", "--payload-text", "--payload-base64", "--received");

    [Fact]
    public void Run_Version_PrintsTheAssemblyVersionExitZero() =>
        CommandLineAssert.Version(Run("--version"), typeof(Program).Assembly);

    [Theory]
    [InlineData("--topik", "check", "PROFILE", "--topik", "city/x")]
    [InlineData("--topic", "check", "PROFILE", "--topic")]
    [InlineData("--received", "check", "PROFILE", "--topic", "city/x", "--received", "yesterday")]
    [InlineData("--payload-base64", "check", "PROFILE", "--topic", "city/x", "--payload-base64", "not base64!")]
    [InlineData("one of --payload, --payload-text", "check", "PROFILE", "--topic", "city/x", "--payload-text", "{}", "--payload-base64", "AAEC")]
    [InlineData("PROFILE.json", "check")]
    [InlineData("extra", "list", "extra")]
    [InlineData("command")]
    public void Run_BadCommandLine_ExitsSixtyFourNamingTheProblem(string named, params string[] args) =>
        CommandLineAssert.UsageError(Run([.. args.Select(a => a == "PROFILE" ? Profile("streetlight") : a)]), Program.UsageExitCode, named);

    /// <summary>docs/device-profiles.md: <c>check PROFILE --topic T --payload FILE</c>.</summary>
    [Fact]
    public void Check_SampleFromFile_DecodedLikeTheTextSample()
    {
        var sample = Path.GetTempFileName();
        try
        {
            File.WriteAllText(sample, """{"v":1,"ts":"2026-11-28T21:59:30Z","on":true,"dim_pct":50,"power_w":20}""");

            var (code, output, _) = Run("check", Profile("streetlight"), "--topic", "city/lighting/d01/s1/streetlight/l1/telemetry", "--payload", sample, "--received", "2026-11-28T22:00:00Z");

            Assert.Equal(0, code);
            Assert.Contains("ACCEPTED", output, StringComparison.Ordinal);
            Assert.Contains("on=true,dim_pct=50,power_w=20,", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(sample);
        }
    }

    [Fact]
    public void List_BuiltInProfiles_OneLineEachExitZero()
    {
        var (code, output, _) = Run("list");

        Assert.Equal(0, code);
        Assert.Contains("streetlight ", output, StringComparison.Ordinal);
    }
}

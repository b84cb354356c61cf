using SmartCity.ProfileTool;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary><c>smartcity-profile check --mapping</c>: a network-server message sample decoded as the worker would.</summary>
public sealed class ProfileToolNetworkTests
{
    private static readonly string Profile = Path.Combine(ProfileGoldenTests.RepositoryRoot, "profiles", "classroom_env", "profile.json");
    private static readonly string Mapping = Path.Combine(FieldNetworks.ExamplesDirectory, "chirpstack-school-7.mapping.json");

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void Check_ChirpStackUplinkSampleWithMapping_PrintsThePoint()
    {
        // The docs' uplink, sent by the example mapping's first device with an Elsys ERS CO2 frame on fPort 1.
        var sample = Path.Combine(Path.GetTempPath(), $"up-{Guid.NewGuid():N}.json");
        File.WriteAllText(sample, NetworkTestKit.With(FieldNetworks.Sample("chirpstack/up.data-only.json"),
            ("deviceInfo/devEui", "a81758fffe0312a1"), ("data", "AQDiAikEACcFBgYDCA==")));
        try
        {
            var (code, output, error) = Run("check", Profile, "--mapping", Mapping, "--payload", sample, "--received", "2022-07-18T09:35:00Z",
                "--topic", "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/a81758fffe0312a1/event/up");

            Assert.True(code == 0, output + error);
            Assert.Contains("classroom_env,device_id=co2-s7-101,device_type=classroom_env,district=d07,sector=education,site=school-7 co2_ppm=776,temperature_c=22.6,humidity_pct=41,presence=true,fcnt=0i,lost_uplinks=0i,f_port=1i,rssi_dbm=-36", output, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(sample);
        }
    }

    [Fact]
    public void Check_UnknownDevEui_RejectedWithExitTwo()
    {
        var (code, output, _) = Run("check", Profile, "--mapping", Mapping, "--payload-text", FieldNetworks.Sample("chirpstack/up.data-only.json"), "--received", "2022-07-18T09:35:00Z",
            "--topic", "application/17c82e96-be03-4f38-aef3-f83d48582d97/device/0101010101010101/event/up");

        Assert.Equal(2, code);
        Assert.Contains("REJECTED UnknownDevice", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Check_BadMappingFile_RefusedWithItsProblems()
    {
        var mapping = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.mapping.json");
        File.WriteAllText(mapping, File.ReadAllText(Mapping).Replace("elsys_ers_v1", "elsys", StringComparison.Ordinal));
        try
        {
            var (code, _, error) = Run("check", Profile, "--mapping", mapping, "--payload-text", "{}", "--topic", "application/x/device/0101010101010101/event/up");

            Assert.Equal(1, code);
            Assert.Contains("$.codecs.1: no decoder plug-in named 'elsys'", error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(mapping);
        }
    }
}

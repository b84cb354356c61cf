using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Source;


namespace SmartCity.Telemetry.Tests.Source;

public class MqttTlsOptionsTests
{
    private static IEnumerable<string> Failures(MqttTlsOptions tls) =>
        new SectionValidator<MqttSourceOptions>("Mqtt").Validate(null, new MqttSourceOptions { Host = "broker", Tls = tls }).Failures ?? [];

    [Fact]
    public void Validate_TlsOffWithoutFiles_Passes() => Assert.Empty(Failures(new MqttTlsOptions()));

    [Fact]
    public void Validate_CaFileButTlsOff_RefusedRatherThanRunInClear()
    {
        Assert.Contains(Failures(new MqttTlsOptions { CaFile = "/etc/ca.crt" }), f => f.StartsWith("Mqtt:Tls:Enabled: is false but TLS files are set", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_MissingCaFile_NamesTheSetting()
    {
        var missing = Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N"), "ca.crt");
        Assert.Contains(Failures(new MqttTlsOptions { Enabled = true, CaFile = missing }), f => f.StartsWith("Mqtt:Tls:CaFile: cannot be read", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_CaFileWithoutCertificate_Refused()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, "not a certificate\n");
            Assert.Contains(Failures(new MqttTlsOptions { Enabled = true, CaFile = file }), f => f.StartsWith("Mqtt:Tls:CaFile: cannot be read", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Validate_ClientCertificateWithoutKey_Refused()
    {
        Assert.Contains(Failures(new MqttTlsOptions { Enabled = true, ClientCertificateFile = "/etc/client.crt" }), f => f.StartsWith("Mqtt:Tls:ClientKeyFile: client certificate and key go together", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_TlsOnWithSystemTrust_Passes() => Assert.Empty(Failures(new MqttTlsOptions { Enabled = true }));
}

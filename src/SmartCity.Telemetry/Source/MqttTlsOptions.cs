using System.ComponentModel.DataAnnotations;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace SmartCity.Telemetry.Source;

/// <summary>
/// TLS towards the broker (section <c>Mqtt:Tls</c>). Off by default because the development
/// broker's plain listener is on loopback; any broker reached over a network should use it.
/// </summary>
public sealed class MqttTlsOptions
{
    /// <value>The default value is <see langword="false"/>.</value>
    public bool Enabled { get; set; }

    /// <summary>
    /// PEM file with the CA certificate(s) the broker's certificate must chain to. When set, ONLY
    /// these CAs are trusted (the system store is not consulted), so a private city CA cannot be
    /// impersonated by any public one. When empty, the system trust store decides.
    /// </summary>
    public string? CaFile { get; set; }

    /// <summary>Optional PEM client certificate (for brokers with <c>require_certificate true</c>); needs <see cref="ClientKeyFile"/>.</summary>
    public string? ClientCertificateFile { get; set; }

    /// <summary>PEM private key of <see cref="ClientCertificateFile"/> (unencrypted).</summary>
    public string? ClientKeyFile { get; set; }

    /// <summary>The name the broker's certificate must carry; empty means <c>Mqtt:Host</c>.</summary>
    public string? TargetHost { get; set; }

    internal IEnumerable<ValidationResult> Validate(string prefix)
    {
        if (!Enabled)
        {
            // A CA file with TLS off is almost certainly a forgotten switch: refuse rather than run in clear.
            if (!string.IsNullOrEmpty(CaFile) || !string.IsNullOrEmpty(ClientCertificateFile) || !string.IsNullOrEmpty(ClientKeyFile))
            {
                yield return new ValidationResult("is false but TLS files are set (set it to true, or remove the files)", [prefix + nameof(Enabled)]);
            }

            yield break;
        }

        if (!string.IsNullOrEmpty(CaFile) && ReadFailure(() => LoadCaCertificates(CaFile)) is { } caError)
        {
            yield return new ValidationResult(caError, [prefix + nameof(CaFile)]);
        }

        if (string.IsNullOrEmpty(ClientCertificateFile) != string.IsNullOrEmpty(ClientKeyFile))
        {
            yield return new ValidationResult("client certificate and key go together: set both or neither",
                [prefix + (string.IsNullOrEmpty(ClientCertificateFile) ? nameof(ClientCertificateFile) : nameof(ClientKeyFile))]);
        }
        else if (!string.IsNullOrEmpty(ClientCertificateFile) && ReadFailure(() => LoadClientCertificate().Dispose()) is { } certError)
        {
            yield return new ValidationResult(certError, [prefix + nameof(ClientCertificateFile)]);
        }
    }

    private static string? ReadFailure(Action read)
    {
        try
        {
            read();
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return $"cannot be read: {e.Message}";
        }
    }

    internal static X509Certificate2Collection LoadCaCertificates(string file)
    {
        var certificates = new X509Certificate2Collection();
        certificates.ImportFromPemFile(file);
        return certificates.Count > 0 ? certificates : throw new CryptographicException($"no PEM certificate in '{file}'");
    }

    internal X509Certificate2 LoadClientCertificate() => X509Certificate2.CreateFromPemFile(ClientCertificateFile!, ClientKeyFile);
}

/// <summary>Applies <see cref="MqttSourceOptions"/> (server, credentials, TLS) to every MQTT connection the worker opens.</summary>
public static class MqttConnectionOptions
{
    /// <summary>Server, credentials and TLS of <paramref name="options"/>; the caller adds client id and session settings.</summary>
    public static MqttClientOptionsBuilder WithSmartCityBroker(this MqttClientOptionsBuilder builder, MqttSourceOptions options)
    {
        builder.WithTcpServer(options.Host, options.Port);
        if (options.Username is not null)
        {
            builder.WithCredentials(options.Username, options.Password);
        }

        var tls = options.Tls;
        if (!tls.Enabled)
        {
            return builder;
        }

        var caCertificates = string.IsNullOrEmpty(tls.CaFile) ? null : MqttTlsOptions.LoadCaCertificates(tls.CaFile);
        var clientCertificate = string.IsNullOrEmpty(tls.ClientCertificateFile) ? null : tls.LoadClientCertificate();
        return builder.WithTlsOptions(o =>
        {
            o.UseTls()
             .WithTargetHost(string.IsNullOrEmpty(tls.TargetHost) ? options.Host : tls.TargetHost)
             .WithSslProtocols(System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13);
            if (caCertificates is not null)
            {
                o.WithCertificateValidationHandler(e => ChainsToPrivateCa(e.Certificate, e.Chain, e.SslPolicyErrors, caCertificates));
            }

            if (clientCertificate is not null)
            {
                o.WithClientCertificates([clientCertificate]);
            }
        });
    }

    /// <summary>
    /// The server certificate is accepted when its name matches and it chains to one of
    /// <paramref name="trusted"/>, whatever the system store says (custom root trust).
    /// </summary>
    public static bool ChainsToPrivateCa(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection trusted)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trusted);
        // A development or city CA publishes no revocation lists; revoking is done by rotating it.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var server = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(server);
    }
}

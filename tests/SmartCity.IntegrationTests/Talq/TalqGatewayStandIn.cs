using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>A TALQ gateway as our CMS API sees it: its address, credentials and the mapping file entry naming it.</summary>
public sealed class TalqGatewayStandIn(string username, string district, string site)
{
    public Guid Address { get; } = Guid.NewGuid();

    public string Username { get; } = username;

    public string Password { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    public string District { get; } = district;

    public string Site { get; } = site;

    /// <summary>The gateway's own TALQ API (a Prism mock), with the password file our CMS uses there; null: none configured.</summary>
    public (Uri Url, string PasswordFile)? Api { get; set; }

    public object MappingEntry => new
    {
        address = Address.ToString(),
        username = Username,
        passwordSha256 = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Password))),
        district = District,
        site = Site,
        api = Api is { } api ? new { url = api.Url.ToString(), username = "smartcity", passwordFile = api.PasswordFile, cmsAddress = Guid.NewGuid().ToString() } : null,
    };

    /// <summary>Writes the mapping file for these gateways into a fresh temp folder and returns its path.</summary>
    public static string WriteMappingFile(params TalqGatewayStandIn[] gateways)
    {
        var dir = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("talq-map-"));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, "talq-gateways.json");
        File.WriteAllText(path, System.Text.Json.JsonSerializer.Serialize(new { gateways = gateways.Select(g => g.MappingEntry) }));
        return path;
    }

    /// <summary>Points this gateway's "api" entry at <paramref name="url"/> (with a password file beside the mapping file) and writes the mapping file.</summary>
    public string WriteMappingFileWithApi(Uri url)
    {
        var passwordFile = Path.Combine(Path.GetDirectoryName(WriteMappingFile())!, "gateway-password");
        File.WriteAllText(passwordFile, "cms-secret\n");
        Api = (url, passwordFile);
        return WriteMappingFile(this);
    }

    public HttpClient Client(Uri worker, string? password = null)
    {
        var client = new HttpClient { BaseAddress = worker, Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Username}:{password ?? Password}")));
        client.DefaultRequestHeaders.Add("talq-api-version", "2.7.1");
        return client;
    }

    /// <summary>The spec's query: clientAddress (this gateway unless told) and a fresh talqRequestId.</summary>
    public string Query(string path, Guid? clientAddress = null) => $"/talq{path}?clientAddress={clientAddress ?? Address}&talqRequestId={Guid.NewGuid()}";
}

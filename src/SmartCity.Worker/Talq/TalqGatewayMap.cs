using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using SmartCity.Telemetry.Devices;

namespace SmartCity.Worker.Talq;

/// <summary>
/// One TALQ gateway allowed to call our CMS API (docs/integrations/talq.md): its TALQ address (the
/// <c>clientAddress</c> it sends), its HTTP Basic credentials (the password as a SHA-256 hex digest, so
/// the mapping file is data, not a secret) and where its lamps are: a district and a default site,
/// with per-device sites for networks spanning several streets.
/// </summary>
public sealed record TalqGateway(Guid Address, string Username, byte[] PasswordSha256, string District, string Site, IReadOnlyDictionary<Guid, string> DeviceSites)
{
    /// <summary>The gateway's own TALQ API (optional "api" entry): where we send calendars, programs, overrides, logger configs.</summary>
    public TalqGatewayEndpoint? Api { get; init; }

    public string SiteOf(Guid device) => DeviceSites.TryGetValue(device, out var site) ? site : Site;

    /// <summary>Constant-time comparison of the offered password's digest.</summary>
    public bool Accepts(string password) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(password)), PasswordSha256);
}

/// <summary>The mapping file (<c>Talq:MappingFile</c>): the gateways, read once at start; problems are listed, not thrown.</summary>
public sealed class TalqGatewayMap
{
    private readonly Dictionary<string, TalqGateway> _byUsername;

    private TalqGatewayMap(IEnumerable<TalqGateway> gateways) =>
        _byUsername = gateways.ToDictionary(g => g.Username, StringComparer.Ordinal);

    public static TalqGatewayMap Empty { get; } = new([]);

    public IReadOnlyCollection<TalqGateway> Gateways => _byUsername.Values;

    public TalqGateway? FindByUsername(string username) => _byUsername.GetValueOrDefault(username);

    public TalqGateway? FindByAddress(Guid address) => _byUsername.Values.FirstOrDefault(g => g.Address == address);

    public static (TalqGatewayMap Map, IReadOnlyList<string> Problems) Load(string? path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            return (Empty, []);
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            return Parse(doc.RootElement, path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            return (Empty, [$"Talq:MappingFile '{path}' cannot be read: {ex.Message}"]);
        }
    }

    private static (TalqGatewayMap, IReadOnlyList<string>) Parse(JsonElement root, string path)
    {
        var problems = new List<string>();
        var gateways = new List<TalqGateway>();
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("gateways", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return (Empty, [$"Talq:MappingFile '{path}': expected {{ \"gateways\": [ ... ] }}"]);
        }

        var index = 0;
        foreach (var item in list.EnumerateArray())
        {
            var where = $"Talq:MappingFile '{path}' gateways[{index++}]";
            if (ParseGateway(item, where, problems) is { } gateway)
            {
                if (gateways.Any(g => g.Username == gateway.Username || g.Address == gateway.Address))
                {
                    problems.Add($"{where}: username and address must be unique");
                }
                else
                {
                    gateways.Add(gateway);
                }
            }
        }

        return (new TalqGatewayMap(gateways), problems);
    }

    private static TalqGateway? ParseGateway(JsonElement item, string where, List<string> problems)
    {
        string? Text(string name) => item.ValueKind == JsonValueKind.Object && item.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        var before = problems.Count;
        if (!Guid.TryParse(Text("address"), out var address))
        {
            problems.Add($"{where}: 'address' must be the gateway's TALQ address (a UUID)");
        }

        var username = Text("username");
        if (string.IsNullOrWhiteSpace(username) || username.Contains(':', StringComparison.Ordinal))
        {
            problems.Add($"{where}: 'username' is required (no ':')");
        }

        byte[] digest = [];
        try
        {
            digest = Convert.FromHexString(Text("passwordSha256") ?? "");
        }
        catch (FormatException)
        {
            // Reported below with the length check.
        }

        if (digest.Length != SHA256.HashSizeInBytes)
        {
            problems.Add($"{where}: 'passwordSha256' must be the 64 hex digits of SHA-256(password)");
        }

        var district = Segment(Text("district"), "district", where, problems);
        var site = Segment(Text("site"), "site", where, problems);
        var sites = new Dictionary<Guid, string>();
        if (item.ValueKind == JsonValueKind.Object && item.TryGetProperty("deviceSites", out var map) && map.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in map.EnumerateObject())
            {
                if (!Guid.TryParse(entry.Name, out var device) || Segment(entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString() : null, $"deviceSites.{entry.Name}", where, problems) is not { } deviceSite)
                {
                    problems.Add($"{where}: deviceSites keys are device addresses (UUIDs), values sites");
                    continue;
                }

                sites[device] = deviceSite;
            }
        }

        var api = item.ValueKind == JsonValueKind.Object && item.TryGetProperty("api", out var a) && a.ValueKind != JsonValueKind.Null ? TalqGatewayApi.Parse(a, where, problems) : null;
        return problems.Count == before ? new TalqGateway(address, username!, digest, district!, site!, sites) { Api = api } : null;
    }

    private static string? Segment(string? value, string name, string where, List<string> problems)
    {
        if (value is null || !TopicParser.IsValidSegment(value))
        {
            problems.Add($"{where}: '{name}' must be 1..64 characters of [a-z A-Z 0-9 _ . -]");
            return null;
        }

        return value;
    }
}

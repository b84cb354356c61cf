using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Partitioning;

namespace SmartCity.Telemetry.Tenancy;

/// <summary>
/// What one person or key may see of this worker (tenancy, docs/scaling.md), the same for operator API
/// keys and console accounts: scoped to a city, it sees this worker only when the worker serves that
/// city (<c>Tenancy:City</c>, set by the partition map); scoped to districts too, only their alerts,
/// devices and rejections. Unscoped sees everything. Whatever is out of scope is answered as if it did
/// not exist (404, empty lists), so nobody can even learn that an id belongs to another city or district.
/// </summary>
public sealed partial class CityScope
{
    public const string CityClaim = "smartcity:city";
    public const string DistrictClaim = "smartcity:district";

    public static readonly CityScope Everything = new(true, null, null);
    public static readonly CityScope Nothing = new(false, null, null);

    private readonly bool _visible;
    private readonly IReadOnlySet<string>? _districts;
    private readonly string? _topicRoot;

    private CityScope(bool visible, IReadOnlySet<string>? districts, string? topicRoot)
    {
        _visible = visible;
        _districts = districts;
        _topicRoot = topicRoot;
    }

    /// <summary>The scope of <paramref name="user"/>'s claims (<see cref="Claims"/>) on this worker.</summary>
    public static CityScope Of(ClaimsPrincipal user, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(configuration);
        var city = user.FindFirst(CityClaim)?.Value;
        // A worker that does not say which city it serves is no city's: city-scoped users see nothing.
        if (city is not null && configuration[PartitionServiceCollectionExtensions.CityKey] != city)
        {
            return Nothing;
        }

        var districts = user.FindAll(DistrictClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        return districts.Count == 0 ? Everything : new CityScope(true, districts, configuration["Decoding:TopicRoot"] ?? "city");
    }

    /// <summary>The claims that carry a scope: the city when given, each district.</summary>
    public static Claim[] Claims(string? city, IEnumerable<string> districts) =>
        [.. city is { Length: > 0 } ? [new Claim(CityClaim, city)] : Array.Empty<Claim>(), .. districts.Select(d => new Claim(DistrictClaim, d))];

    /// <summary>A city id or a district topic level: 1..64 characters of [A-Za-z0-9_.-].</summary>
    public static bool IsValidId(string? value) => value is not null && IdPattern().IsMatch(value);

    public bool Sees(Alert alert) => SeesDistrict(alert.District);

    public bool Sees(DeviceRecord device) => SeesDistrict(device.District);

    public bool Sees(QuarantinedDevice device) => SeesTopic(device.LastTopic);

    public bool Sees(Rejection rejection) => SeesTopic(rejection.Topic);

    public bool SeesDistrict(string district) => _visible && (_districts is null || _districts.Contains(district));

    // {root}/{sector}/{district}/...: a topic outside the root has no district this scope may see.
    private bool SeesTopic(string topic)
    {
        if (!_visible || _districts is null)
        {
            return _visible;
        }

        if (!topic.StartsWith(_topicRoot + "/", StringComparison.Ordinal))
        {
            return false;
        }

        var levels = topic[(_topicRoot!.Length + 1)..].Split('/');
        return levels.Length > 1 && _districts.Contains(levels[1]);
    }

    [GeneratedRegex("^[A-Za-z0-9_.\\-]{1,64}$")]
    private static partial Regex IdPattern();
}

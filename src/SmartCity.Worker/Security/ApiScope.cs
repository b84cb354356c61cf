using System.Security.Claims;
using System.Text.RegularExpressions;
using SmartCity.Telemetry.Alerting;
using SmartCity.Telemetry.Devices.Registry;
using SmartCity.Telemetry.Ingest;
using SmartCity.Telemetry.Partitioning;

namespace SmartCity.Worker.Security;

/// <summary>
/// What one API key may see of this worker (tenancy, docs/scaling.md): a key scoped to a city sees
/// this worker only when the worker serves that city (<c>Tenancy:City</c>, set by the partition
/// map), and a key also scoped to districts sees only their alerts and devices. Unscoped keys see
/// everything. Whatever is out of scope is answered as if it did not exist (404, empty lists), so a
/// key cannot even learn that an id belongs to another city.
/// </summary>
public sealed class ApiScope
{
    public const string CityClaim = "smartcity:city";
    public const string DistrictClaim = "smartcity:district";

    private static readonly ApiScope Everything = new(true, null, null);
    private static readonly ApiScope Nothing = new(false, null, null);

    private readonly bool _visible;
    private readonly IReadOnlySet<string>? _districts;
    private readonly string? _topicRoot;

    private ApiScope(bool visible, IReadOnlySet<string>? districts, string? topicRoot)
    {
        _visible = visible;
        _districts = districts;
        _topicRoot = topicRoot;
    }

    /// <summary>The scope of the request's key on this worker.</summary>
    public static ApiScope Of(HttpContext context)
    {
        var city = context.User.FindFirstValue(CityClaim);
        if (city is null)
        {
            return Everything;
        }

        var configuration = context.RequestServices.GetRequiredService<IConfiguration>();
        // A worker that does not say which city it serves is no city's: scoped keys see nothing.
        if (configuration[PartitionServiceCollectionExtensions.CityKey] != city)
        {
            return Nothing;
        }

        var districts = context.User.FindAll(DistrictClaim).Select(c => c.Value).ToHashSet(StringComparer.Ordinal);
        return districts.Count == 0 ? Everything : new ApiScope(true, districts, configuration["Decoding:TopicRoot"] ?? "city");
    }

    public bool Sees(Alert alert) => SeesDistrict(alert.District);

    public bool Sees(DeviceRecord device) => SeesDistrict(device.District);

    public bool Sees(QuarantinedDevice device) => SeesTopic(device.LastTopic);

    public bool Sees(Rejection rejection) => SeesTopic(rejection.Topic);

    private bool SeesDistrict(string district) => _visible && (_districts is null || _districts.Contains(district));

    // {root}/{sector}/{district}/...: a topic outside the root has no district this key may see.
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

    internal static Claim[] Claims(ApiKeyOptions key) => key.City is { Length: > 0 } city
        ? [new Claim(CityClaim, city), .. key.Districts.Select(d => new Claim(DistrictClaim, d))]
        : [];
}

public sealed partial class ApiKeyOptions
{
    private IEnumerable<(string Member, string Message)> ScopeProblems()
    {
        if (City is not null && !ScopePattern().IsMatch(City))
        {
            yield return ("City", "must be a city id of 1..64 characters of [A-Za-z0-9_.-] (as Tenancy:City or the partition map), or left out for every city");
        }

        if (Districts.Count > 0 && City is null)
        {
            yield return ("Districts", "narrow a city: set City too");
        }

        for (var i = 0; i < Districts.Count; i++)
        {
            if (!ScopePattern().IsMatch(Districts[i] ?? ""))
            {
                yield return ($"Districts:{i}", "must be a district topic level of 1..64 characters of [A-Za-z0-9_.-]");
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_.\\-]{1,64}$")]
    private static partial Regex ScopePattern();
}

using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>The operator-API keys every test worker accepts, one per role, and clients that use them.</summary>
public static class TestApiKeys
{
    public sealed record TestKey(string Name, string Role, string Key);

    public static readonly TestKey Viewer = new("vera.viewer", "viewer", "test-viewer-key-5f0c2b7d9e");

    public static readonly TestKey Operator = new("anna.operator", "operator", "test-operator-key-8a41d3c6f2");

    public static readonly TestKey Admin = new("adam.admin", "admin", "test-admin-key-c93e17b05a");

    /// <summary>
    /// The settings for the three keys (the operator's configured by its hash, the others in clear),
    /// and a rate limit no polling test reaches (tests that check the limit set their own).
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string?>> Settings()
    {
        yield return new("Api:RateLimit:PermitLimit", "100000");
        TestKey[] keys = [Viewer, Operator, Admin];
        for (var i = 0; i < keys.Length; i++)
        {
            yield return new($"Api:Keys:{i}:Name", keys[i].Name);
            yield return new($"Api:Keys:{i}:Role", keys[i].Role);
            yield return keys[i] == Operator
                ? new($"Api:Keys:{i}:KeyHash", Sha256Hex(keys[i].Key))
                : new($"Api:Keys:{i}:Key", keys[i].Key);
        }
    }

    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>A client for <paramref name="baseAddress"/> sending <paramref name="key"/> as a bearer token (none: anonymous).</summary>
    public static HttpClient Client(Uri baseAddress, TestKey? key)
    {
        // 60 s: one answer of a worker busy with a burst on a loaded machine can take more than 10 s.
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key.Key);
        }

        return http;
    }
}

using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace SmartCity.Worker.Security;

/// <summary>The configured keys as SHA-256 hashes, matched in constant time.</summary>
public sealed class ApiKeyStore
{
    private readonly List<(byte[] Hash, string Name, string Role)> _keys;
    private readonly Dictionary<string, Claim[]> _scopes;

    public ApiKeyStore(IOptions<ApiOptions> options)
    {
        // Only hashes are kept: a heap dump or a debugger shows no key, and every comparison is
        // between two 32-byte digests whatever the presented key's length.
        _keys = [.. options.Value.Keys.Select(k => (
            k.KeyHash is { Length: > 0 } hex ? Convert.FromHexString(hex) : SHA256.HashData(Encoding.UTF8.GetBytes(k.Key!)),
            k.Name!,
            k.Role!))];
        _scopes = options.Value.Keys.ToDictionary(k => k.Name!, ApiScope.Claims, StringComparer.Ordinal);
    }

    /// <summary>The city and districts the key named <paramref name="name"/> is scoped to, as claims (none: unscoped).</summary>
    public IEnumerable<Claim> ScopeClaims(string name) => _scopes.TryGetValue(name, out var claims) ? claims : [];

    public int Count => _keys.Count;

    /// <summary>Names and roles (never keys or hashes), for the admin endpoint and the start-up log.</summary>
    public IEnumerable<(string Name, string Role)> Identities => _keys.Select(k => (k.Name, k.Role));

    /// <summary>The key's owner, or null. Compares against every key, without stopping at a match, in constant time.</summary>
    public (string Name, string Role)? Match(string presented)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(presented), hash);
        (string, string)? found = null;
        foreach (var key in _keys)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, key.Hash))
            {
                found ??= (key.Name, key.Role);
            }
        }

        return found;
    }
}

/// <summary>
/// Authenticates <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c> against <see cref="ApiKeyStore"/>.
/// The identity's name is the key's name (recorded as "by"), its role claim the key's role.
/// Answers 401 and 403 with ProblemDetails; 401 carries <c>WWW-Authenticate: Bearer</c>.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys,
    IProblemDetailsService problems) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string HeaderName = "X-Api-Key";

    /// <summary>Longer credentials are refused unread: no configured key is that long.</summary>
    private const int MaxKeyLength = 1024;

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? presented = null;
        if (Request.Headers.Authorization is { Count: > 0 } authorization)
        {
            var value = authorization.ToString();
            if (!value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            {
                // The failure messages never contain the credential: the framework logs them.
                return Task.FromResult(AuthenticateResult.Fail("the Authorization header must be 'Bearer <API key>'"));
            }

            presented = value["Bearer ".Length..].Trim();
        }
        else if (Request.Headers[HeaderName] is { Count: > 0 } header)
        {
            presented = header.ToString().Trim();
        }

        if (presented is null)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        if (presented.Length is 0 or > MaxKeyLength || keys.Match(presented) is not { } owner)
        {
            return Task.FromResult(AuthenticateResult.Fail("the API key is not one of the configured keys"));
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, owner.Name), new Claim(ClaimTypes.Role, owner.Role), .. keys.ScopeClaims(owner.Name)],
            SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync().ConfigureAwait(false);
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = result.Failure is null
            ? "Bearer realm=\"smartcity\""
            : "Bearer realm=\"smartcity\", error=\"invalid_token\"";
        var detail = keys.Count == 0
            ? "This worker has no API keys configured (Api:Keys), so the operator API is closed."
            : result.Failure is { } failure
                ? failure.Message + "."
                : $"Send an API key as 'Authorization: Bearer <key>' or '{HeaderName}: <key>'.";
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "authentication required", detail).ConfigureAwait(false);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var user = Context.User;
        var role = user.FindFirstValue(ClaimTypes.Role);
        await WriteProblemAsync(
            StatusCodes.Status403Forbidden,
            "not allowed for this role",
            $"The key '{user.Identity?.Name}' has the role '{role}', which may not do this (viewer: read; operator: also acknowledge, resolve, comment; admin: everything).").ConfigureAwait(false);
    }

    private async Task WriteProblemAsync(int status, string title, string detail) =>
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = status, Title = title, Detail = detail },
        }).ConfigureAwait(false);
}

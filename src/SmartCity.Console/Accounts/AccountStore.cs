using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Tenancy;

namespace SmartCity.OperatorConsole.Accounts;

/// <summary>One local account as stored: never the password, only ASP.NET Core Identity's salted PBKDF2 hash.</summary>
public sealed record ConsoleAccount
{
    public required string Name { get; init; }

    public required string Role { get; init; }

    public required string PasswordHash { get; init; }

    /// <summary>Wrong passwords in a row since the last success.</summary>
    public int FailedLogins { get; init; }

    public DateTimeOffset? LockedUntil { get; init; }

    /// <summary>
    /// The city this account is for (a partition map city id); unset: the city of the worker whose
    /// file holds it. An account of another city sees nothing on this worker.
    /// </summary>
    public string? City { get; init; }

    /// <summary>The only districts this account sees (devices, alerts, map dots); empty: the whole city.</summary>
    public IReadOnlyList<string> Districts { get; init; } = [];
}

public enum LoginOutcome
{
    Success,
    /// <summary>Unknown name or wrong password: the page says the same for both.</summary>
    Refused,
    LockedOut,
}

/// <summary>
/// The local accounts in a JSON file beside the worker's state, shared with the <c>console add-user</c>
/// command: a user added while the worker runs can log in at once (the file is re-read when it changed).
/// Wrong passwords are counted per account (lockout after <c>MaxFailedLogins</c>) and in the meter
/// <c>SmartCity.Console</c> (<c>smartcity.console.login.failed</c>, tag <c>reason</c>).
/// </summary>
public sealed partial class AccountStore : IDisposable
{
    public const string MeterName = "SmartCity.Console";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly PasswordHasher<ConsoleAccount> _hasher = new();
    private readonly Lock _gate = new();
    private readonly string _file;
    private readonly int _maxFailures;
    private readonly TimeSpan _lockout;
    private readonly TimeProvider _time;
    private readonly Meter _meter = new(MeterName);
    private readonly Counter<long> _failedCounter;
    private Dictionary<string, ConsoleAccount> _accounts = new(StringComparer.OrdinalIgnoreCase);
    private DateTime _loadedWriteTime;
    private long _failed;

    public AccountStore(string file, int maxFailures, TimeSpan lockout, TimeProvider time)
    {
        _file = file;
        _maxFailures = maxFailures;
        _lockout = lockout;
        _time = time;
        _failedCounter = _meter.CreateCounter<long>("smartcity.console.login.failed", "{login}", "Console logins refused: wrong password, unknown name or locked account");
    }

    public string File => _file;

    /// <summary>Refused logins since start (wrong password, unknown name, locked account).</summary>
    public long FailedLogins => Interlocked.Read(ref _failed);

    public IReadOnlyList<ConsoleAccount> Accounts
    {
        get
        {
            lock (_gate)
            {
                ReloadIfChanged();
                return [.. _accounts.Values.OrderBy(a => a.Name, StringComparer.Ordinal)];
            }
        }
    }

    /// <summary>Checks a login; on success returns the account (its role may have changed in the file).</summary>
    public (LoginOutcome Outcome, ConsoleAccount? Account) Verify(string name, string password)
    {
        lock (_gate)
        {
            ReloadIfChanged();
            var now = _time.GetUtcNow();
            if (!_accounts.TryGetValue(name, out var account))
            {
                // Hash anyway: an unknown name takes as long as a wrong password.
                _hasher.HashPassword(new ConsoleAccount { Name = name, Role = ConsoleRoles.Viewer, PasswordHash = "" }, password);
                return Fail("unknown_name", LoginOutcome.Refused, null);
            }

            if (account.LockedUntil is { } until && until > now)
            {
                return Fail("locked_out", LoginOutcome.LockedOut, null);
            }

            var result = _hasher.VerifyHashedPassword(account, account.PasswordHash, password);
            if (result == PasswordVerificationResult.Failed)
            {
                var failures = account.FailedLogins + 1;
                var locked = failures >= _maxFailures;
                Save(account with { FailedLogins = locked ? 0 : failures, LockedUntil = locked ? now + _lockout : null });
                return Fail("wrong_password", locked ? LoginOutcome.LockedOut : LoginOutcome.Refused, null);
            }

            var updated = account with
            {
                FailedLogins = 0,
                LockedUntil = null,
                PasswordHash = result == PasswordVerificationResult.SuccessRehashNeeded ? _hasher.HashPassword(account, password) : account.PasswordHash,
            };
            if (updated != account)
            {
                Save(updated);
            }

            return (LoginOutcome.Success, updated);
        }
    }

    /// <summary>Adds an account or replaces its role, password and scope (and unlocks it).</summary>
    public ConsoleAccount SetAccount(string name, string role, string password, string? city = null, IReadOnlyList<string>? districts = null)
    {
        if ((Problem(name, role, password) ?? ScopeProblem(city, districts)) is { } problem)
        {
            throw new ArgumentException(problem);
        }

        lock (_gate)
        {
            ReloadIfChanged();
            var account = new ConsoleAccount { Name = name, Role = role, PasswordHash = "", City = city, Districts = districts ?? [] };
            account = account with { PasswordHash = _hasher.HashPassword(account, password) };
            Save(account);
            return account;
        }
    }

    /// <summary>What is wrong with a new account, or null.</summary>
    public static string? Problem(string? name, string? role, string? password) =>
        string.IsNullOrEmpty(name) || !NamePattern().IsMatch(name) ? "the name must be 1..64 characters of [A-Za-z0-9_.@-] (it is recorded on acknowledgements)"
        : !ConsoleRoles.IsRole(role) ? "the role must be viewer, operator or admin"
        : password is null || password.Length < MinimumPasswordLength ? $"the password must have at least {MinimumPasswordLength} characters"
        : null;

    public const int MinimumPasswordLength = 10;

    /// <summary>What is wrong with an account's city and districts (the same rules as API keys'), or null.</summary>
    public static string? ScopeProblem(string? city, IReadOnlyList<string>? districts) =>
        city is not null && !CityScope.IsValidId(city) ? "the city must be a city id of 1..64 characters of [A-Za-z0-9_.-] (as in the partition map)"
        : districts?.FirstOrDefault(d => !CityScope.IsValidId(d)) is { } bad ? $"district '{bad}' must be a district topic level of 1..64 characters of [A-Za-z0-9_.-]"
        : null;

    public void Dispose() => _meter.Dispose();

    private (LoginOutcome, ConsoleAccount?) Fail(string reason, LoginOutcome outcome, ConsoleAccount? account)
    {
        Interlocked.Increment(ref _failed);
        _failedCounter.Add(1, new KeyValuePair<string, object?>("reason", reason));
        return (outcome, account);
    }

    private void ReloadIfChanged()
    {
        var info = new FileInfo(_file);
        if (!info.Exists)
        {
            _accounts.Clear();
            _loadedWriteTime = default;
            return;
        }

        if (info.LastWriteTimeUtc == _loadedWriteTime)
        {
            return;
        }

        using var stream = info.OpenRead();
        var stored = JsonSerializer.Deserialize<StoredAccounts>(stream, Json) ?? new StoredAccounts();
        _accounts = stored.Users.Where(u => ConsoleRoles.IsRole(u.Role)).ToDictionary(u => u.Name, StringComparer.OrdinalIgnoreCase);
        _loadedWriteTime = info.LastWriteTimeUtc;
    }

    private void Save(ConsoleAccount account)
    {
        _accounts[account.Name] = account;
        // Written beside and renamed over: a crash leaves the old file or the new one, never half of one.
        // Owner-only: the hashes are not secrets to give away.
        var stored = new StoredAccounts { Users = [.. _accounts.Values.OrderBy(a => a.Name, StringComparer.Ordinal)] };
        StateFile.Replace(_file, stream => JsonSerializer.Serialize(stream, stored, Json), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        _loadedWriteTime = new FileInfo(_file).LastWriteTimeUtc;
    }

    private sealed class StoredAccounts
    {
        [JsonPropertyName("users")]
        public List<ConsoleAccount> Users { get; set; } = [];
    }

    [GeneratedRegex("^[A-Za-z0-9_.@-]{1,64}$")]
    private static partial Regex NamePattern();
}

using System.Text.RegularExpressions;

namespace SmartCity.Provisioning;

/// <summary>
/// A city's broker accounts when several cities share one broker (issue 21, docs/scaling.md): the
/// city's section of the ACL file rendered from deploy/mosquitto/acl-city.template (its workers'
/// account and its read-only account), and a password for each of its users. The section sits between
/// markers like a device's block, so <c>city revoke</c> removes exactly what <c>city add</c> wrote.
/// </summary>
public sealed partial class DeviceStore
{
    /// <summary>A city's block id in the ACL file: <c>city:lyon</c> (never a device id: ':' is not in the device alphabet).</summary>
    public const string CityBlockPrefix = "city:";

    /// <summary>The template shipped with the tool (deploy/mosquitto/acl-city.template, embedded at build).</summary>
    public static string ShippedCityTemplate()
    {
        using var stream = typeof(DeviceStore).Assembly.GetManifestResourceStream("acl-city.template")
            ?? throw new InvalidOperationException("acl-city.template is not embedded in smartcity-provision");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    /// <summary>
    /// The template's rules for <paramref name="city"/> under <paramref name="root"/>: @CITY@ and @ROOT@
    /// replaced, without the template's opening comment (how to render it by hand), which ends at
    /// its first blank line. Refuses a template that leaves a placeholder or names no user.
    /// </summary>
    public static IReadOnlyList<string> RenderCity(string template, string city, string root)
    {
        CheckCity(city, root);
        var lines = template.Replace("\r", "", StringComparison.Ordinal).Split('\n')
            .SkipWhile(l => l.StartsWith('#'))
            .SkipWhile(l => l.Trim().Length == 0)
            .Select(l => l.Replace("@CITY@", city, StringComparison.Ordinal).Replace("@ROOT@", root, StringComparison.Ordinal))
            .ToList();
        while (lines.Count > 0 && lines[^1].Trim().Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        if (lines.FirstOrDefault(l => Placeholder().IsMatch(l)) is { } left)
        {
            throw new ProvisioningException($"the template leaves a placeholder: '{left}' (only @CITY@ and @ROOT@ are filled in)");
        }

        return CityUsers(lines).Count > 0 ? lines : throw new ProvisioningException("the template names no account ('user NAME' line)");
    }

    /// <summary>
    /// Writes the city's ACL section (<see cref="RenderCity"/>) and a new password for each of its users,
    /// ACL first (an account never exists without its limits). Refuses a city that has a section already
    /// or a user that has a password already: revoke first.
    /// </summary>
    /// <returns>Each account with its new password.</returns>
    public async Task<IReadOnlyList<(string User, string Password)>> AddCityAsync(string city, string root, string template, CancellationToken cancellationToken)
    {
        var rules = RenderCity(template, city, root);
        var accounts = CityUsers(rules).Select(u => (User: u, Password: NewPassword())).ToList();
        await using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var passwords = ReadOrEmpty(PasswordFile);
        var existing = MosquittoPasswordFile.Users(passwords).ToHashSet(StringComparer.Ordinal);
        if (accounts.FirstOrDefault(a => existing.Contains(a.User)).User is { } taken)
        {
            throw new ProvisioningException($"'{taken}' already has a password in {PasswordFile}; revoke the city first");
        }

        WriteAtomically(AclFile, MosquittoAclFile.AddBlock(ReadOrEmpty(AclFile), CityBlockPrefix + city, rules));
        WriteAtomically(PasswordFile, accounts.Aggregate(passwords, (file, a) => MosquittoPasswordFile.Upsert(file, MosquittoPasswordFile.HashLine(a.User, a.Password))));
        return accounts;
    }

    /// <summary>Removes the passwords of the city's users, then its ACL section; the users removed, null when the city had no section.</summary>
    public async Task<IReadOnlyList<string>?> RevokeCityAsync(string city, CancellationToken cancellationToken)
    {
        CheckCity(city, "-");
        await using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var content = ReadOrEmpty(AclFile);
        var block = MosquittoAclFile.Devices(content).FirstOrDefault(b => b.DeviceId == CityBlockPrefix + city);
        if (block.Lines is null || !MosquittoAclFile.TryRemove(content, CityBlockPrefix + city, out var acl))
        {
            return null;
        }

        var users = CityUsers(block.Lines);
        // Passwords first: the accounts can no longer log in before their rights go.
        WriteAtomically(PasswordFile, users.Aggregate(ReadOrEmpty(PasswordFile), MosquittoPasswordFile.Remove));
        WriteAtomically(AclFile, acl);
        return users;
    }

    /// <summary>The cities with a section in the ACL file, each with its users and whether each has a password.</summary>
    public IReadOnlyList<(string City, IReadOnlyList<(string User, bool HasPassword)> Users)> ListCities()
    {
        var withPassword = MosquittoPasswordFile.Users(ReadOrEmpty(PasswordFile)).ToHashSet(StringComparer.Ordinal);
        return MosquittoAclFile.Devices(ReadOrEmpty(AclFile))
            .Where(b => b.DeviceId.StartsWith(CityBlockPrefix, StringComparison.Ordinal))
            .Select(b => (b.DeviceId[CityBlockPrefix.Length..], (IReadOnlyList<(string, bool)>)CityUsers(b.Lines).Select(u => (u, withPassword.Contains(u))).ToList()))
            .ToList();
    }

    private static List<string> CityUsers(IEnumerable<string> rules) =>
        rules.Select(l => l.Trim()).Where(l => l.StartsWith("user ", StringComparison.Ordinal)).Select(l => l[5..].Trim()).Distinct(StringComparer.Ordinal).ToList();

    private static void CheckCity(string city, string root)
    {
        if (!MosquittoAclFile.IsValidSegment(city))
        {
            throw new ProvisioningException($"city '{city}' must be 1..64 of A-Z a-z 0-9 _ - . (the partition map's city id)");
        }

        if (!MosquittoAclFile.IsValidRoot(root))
        {
            throw new ProvisioningException($"--root '{root}' must be topic segments of A-Z a-z 0-9 _ - . separated by '/'");
        }
    }

    [GeneratedRegex("@[A-Z_]+@")]
    private static partial Regex Placeholder();
}

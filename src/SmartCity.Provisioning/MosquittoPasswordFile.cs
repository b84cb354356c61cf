using System.Security.Cryptography;
using System.Text;

namespace SmartCity.Provisioning;

/// <summary>
/// mosquitto 2.0's password file: one <c>username:$7$iterations$salt$hash</c> line per account,
/// PBKDF2-HMAC-SHA512 over the password with a 12-byte salt, base64 (what <c>mosquitto_passwd</c>
/// writes). Pure text in, text out: <see cref="DeviceStore"/> does the file handling.
/// </summary>
public static class MosquittoPasswordFile
{
    /// <summary>mosquitto_passwd's own default. Device passwords are long random strings, so a
    /// higher count would buy nothing and cost the broker CPU at every CONNECT of every device.</summary>
    public const int DefaultIterations = 101;

    private const int SaltBytes = 12;
    private const int HashBytes = 64;

    /// <summary>A password file line for <paramref name="user"/> with a fresh random salt.</summary>
    public static string HashLine(string user, string password, int iterations = DefaultIterations)
    {
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, HashBytes);
        return $"{user}:$7${iterations}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>Does <paramref name="password"/> match this line (as mosquitto would check it)?</summary>
    public static bool Verify(string line, string password)
    {
        var colon = line.IndexOf(':', StringComparison.Ordinal);
        var parts = colon < 0 ? [] : line[(colon + 1)..].Split('$');
        if (parts.Length != 5 || parts[0].Length != 0 || parts[1] != "7" || !int.TryParse(parts[2], out var iterations) || iterations < 1)
        {
            return false;
        }

        try
        {
            var salt = Convert.FromBase64String(parts[3]);
            var expected = Convert.FromBase64String(parts[4]);
            var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA512, expected.Length);
            return CryptographicOperations.FixedTimeEquals(actual, expected);
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>The usernames in the file, in order (comments and blank lines skipped).</summary>
    public static IReadOnlyList<string> Users(string content) =>
        Lines(content).Select(UserOf).OfType<string>().ToList();

    /// <summary>The file with <paramref name="line"/> added for its user; an existing line of that user is replaced in place.</summary>
    public static string Upsert(string content, string line)
    {
        var user = UserOf(line) ?? throw new ArgumentException("not a password file line", nameof(line));
        var lines = Lines(content).ToList();
        var at = lines.FindIndex(l => UserOf(l) == user);
        if (at >= 0)
        {
            lines[at] = line;
        }
        else
        {
            lines.Add(line);
        }

        return Join(lines);
    }

    /// <summary>The file without <paramref name="user"/>'s line; every other line is kept as it was.</summary>
    public static string Remove(string content, string user) => Join(Lines(content).Where(l => UserOf(l) != user));

    // Blank lines carry nothing in this format and are dropped when the file is written again.
    private static IEnumerable<string> Lines(string content) => content.Split('\n').Select(l => l.TrimEnd('\r'));

    private static string Join(IEnumerable<string> lines)
    {
        var text = string.Join('\n', lines.Where(l => l.Length > 0));
        return text.Length == 0 ? "" : text + "\n";
    }

    private static string? UserOf(string line)
    {
        if (line.Length == 0 || line[0] == '#')
        {
            return null;
        }

        var colon = line.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? line[..colon] : null;
    }
}

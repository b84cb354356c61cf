namespace SmartCity.Worker.Configuration;

/// <summary>
/// Secrets from files, as Docker and Kubernetes mount them, so they need not sit in environment
/// variables (visible in <c>docker inspect</c> and /proc) or in appsettings.json:
/// <list type="bullet">
/// <item><c>SMARTCITY_SECRETS_DIR</c>: a folder with one file per setting, named like the
/// setting with <c>__</c> for <c>:</c> (<c>Influx__Token</c>, <c>Mqtt__Password</c>); read
/// with the key-per-file provider and above every other source.</item>
/// <item><c>&lt;Setting&gt;File</c> beside any secret setting (a name ending in Password, Token,
/// SigningKey, Key or Secret): <c>Mqtt:PasswordFile=/run/secrets/mqtt</c> sets
/// <c>Mqtt:Password</c> to that file's content, without its trailing newline.</item>
/// </list>
/// Problems (missing folder or file, both forms set) are configuration errors naming the setting,
/// never showing a value.
/// </summary>
public static class SecretFiles
{
    /// <summary>The environment variable <c>SMARTCITY_SECRETS_DIR</c> once its prefix is removed.</summary>
    public const string DirectoryKey = "SECRETS_DIR";

    /// <summary>Setting names (last segment) that hold secrets and so may come from a <c>...File</c>.</summary>
    public static readonly string[] SecretNames = ["Password", "Token", "SigningKey", "Key", "Secret"];

    /// <summary>Adds the secret sources to <paramref name="configuration"/>; returns the problems found.</summary>
    public static IReadOnlyList<string> Add(ConfigurationManager configuration)
    {
        var problems = new List<string>();
        AddSecretsFolder(configuration, problems);
        var values = ReadSettingFiles(configuration, problems);
        if (values.Count > 0)
        {
            configuration.AddInMemoryCollection(values);
        }

        return problems;
    }

    /// <summary>SMARTCITY_SECRETS_DIR: one file per setting, above every source added before.</summary>
    private static void AddSecretsFolder(ConfigurationManager configuration, List<string> problems)
    {
        if (configuration[DirectoryKey] is { Length: > 0 } folder)
        {
            if (Directory.Exists(folder))
            {
                configuration.AddKeyPerFile(folder, optional: false);
            }
            else
            {
                problems.Add($"SMARTCITY_SECRETS_DIR: folder '{folder}' does not exist");
            }
        }
    }

    /// <summary>Every secret setting's <c>...File</c>: the settings they set, by name.</summary>
    private static Dictionary<string, string?> ReadSettingFiles(ConfigurationManager configuration, List<string> problems)
    {
        var values = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, path) in configuration.AsEnumerable())
        {
            // Only settings inside a section (Mqtt:PasswordFile), so a stray top-level variable such as TOKENFILE is not read.
            var leaf = key[(key.LastIndexOf(':') + 1)..];
            if (path is null || !key.Contains(':', StringComparison.Ordinal) || !SecretNames.Any(n => leaf.Equals(n + "File", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var target = key[..^"File".Length];
            if (!string.IsNullOrEmpty(configuration[target]))
            {
                problems.Add($"{key}: {target} is set as well; set only one of them");
                continue;
            }

            if (path.Length > 0 && ReadSecret(key, path, problems) is { } secret)
            {
                values[target] = secret;
            }
        }

        return values;
    }

    /// <summary>The file's content without its trailing newline, or null with the problem added.</summary>
    private static string? ReadSecret(string key, string path, List<string> problems)
    {
        try
        {
            var secret = File.ReadAllText(path).TrimEnd('\r', '\n');
            if (secret.Length > 0)
            {
                return secret;
            }

            problems.Add($"{key}: the file '{path}' is empty");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // The exception's message names the path, never the content.
            problems.Add($"{key}: cannot read the file '{path}': {ex.Message}");
        }

        return null;
    }
}

using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using SmartCity.Telemetry.Rules;

namespace SmartCity.Telemetry.Devices.Profiles;

/// <summary>A profile file that was refused, and every reason, each as <c>file:line: path: problem</c>.</summary>
public sealed record ProfileError(string Source, IReadOnlyList<string> Problems)
{
    public override string ToString() => string.Join(Environment.NewLine, Problems);
}

/// <summary>The profiles in force: the built-in ones and those of the integrators' folder.</summary>
public sealed record ProfileSet(IReadOnlyList<DeviceProfile> Profiles, IReadOnlyList<ProfileError> Errors)
{
    public DeviceProfile? Find(string id) => Profiles.FirstOrDefault(p => p.Id == id);

    public DeviceProfile? ForDeviceType(string deviceType) => Profiles.FirstOrDefault(p => p.DeviceType == deviceType);
}

/// <summary>
/// Reads and checks profile files. A bad file is refused with every problem named by file, line
/// and property; the other profiles are unaffected.
/// </summary>
public static partial class ProfileLoader
{
    public const string FileName = "profile.json";
    private const string ResourcePrefix = "profiles/";

    public static readonly IReadOnlySet<string> MessageKinds = new HashSet<string>(StringComparer.Ordinal) { "telemetry", "event" };

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    // Unknown properties are found by UnknownProperties, all of them, so that one typo does not hide
    // every other problem of the file (the strict options above stop at the first).
    private static readonly JsonSerializerOptions Lenient = new(Json)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip,
    };

    [GeneratedRegex("^[a-z][a-z0-9_]{0,63}$")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^\d+\.\d+\.\d+$")]
    private static partial Regex SemanticVersion();

    /// <summary>
    /// The built-in profiles (embedded) plus every <c>*/profile.json</c> or <c>*.json</c> profile in <paramref name="directory"/>.
    /// A profile's sector must be one of <paramref name="sectors"/> (Decoding:Sectors; the defaults when null).
    /// </summary>
    public static ProfileSet LoadAll(string? directory, IReadOnlyCollection<string>? sectors = null)
    {
        var profiles = new List<DeviceProfile>();
        var errors = new List<ProfileError>();
        var assembly = typeof(ProfileLoader).Assembly;
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            Add(Parse("built-in " + name, memory.ToArray(), sectors));
        }

        if (!string.IsNullOrWhiteSpace(directory) && Directory.Exists(directory))
        {
            var files = Directory.EnumerateFiles(directory, "*.json", SearchOption.AllDirectories)
                .Where(f => !f.Contains(Path.DirectorySeparatorChar + "golden" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                .Order(StringComparer.Ordinal);
            foreach (var file in files)
            {
                Add(Parse(file, File.ReadAllBytes(file), sectors));
            }
        }
        else if (!string.IsNullOrWhiteSpace(directory))
        {
            errors.Add(new ProfileError(directory, [$"{directory}: profile folder does not exist"]));
        }

        return new ProfileSet(profiles, errors);

        void Add((DeviceProfile? Profile, ProfileError? Error) result)
        {
            if (result.Error is not null)
            {
                errors.Add(result.Error);
                return;
            }

            var p = result.Profile!;
            var clash = profiles.FirstOrDefault(o => o.Id == p.Id || o.DeviceType == p.DeviceType);
            if (clash is not null)
            {
                errors.Add(new ProfileError(p.Source, [$"{p.Source}:1: $.id: profile '{p.Id}' (device type '{p.DeviceType}') clashes with {clash.Source} (id '{clash.Id}', device type '{clash.DeviceType}'); ids and device types must be unique"]));
                return;
            }

            profiles.Add(p);
        }
    }

    /// <summary>Parses and checks one profile file; every problem is reported, not only the first.</summary>
    /// <param name="vocabulary">The rule kinds a profile may use; the built-in ones unless a host or test adds its own.</param>
    public static (DeviceProfile? Profile, ProfileError? Error) Parse(string source, byte[] utf8, IReadOnlyCollection<string>? sectors = null, RuleVocabulary? vocabulary = null)
    {
        var problems = new List<(string Path, string Problem)>();
        DeviceProfile? profile = null;
        try
        {
            using (var document = JsonDocument.Parse(utf8, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true }))
            {
                UnknownProperties(document.RootElement, Json.GetTypeInfo(typeof(DeviceProfile)), "$", problems);
            }

            profile = JsonSerializer.Deserialize<DeviceProfile>(utf8, Lenient);
        }
        catch (JsonException ex) when (problems.Count == 0 && ex.Path is null)
        {
            // A syntax error: nothing after it can be read.
            var line = (ex.LineNumber ?? 0) + 1;
            return (null, new ProfileError(source, [$"{source}:{line}: $: {FirstSentence(ex.Message)}"]));
        }
        catch (JsonException ex)
        {
            // A wrong type or a missing required property: reported with the unknown properties found before.
            problems.Add((ex.Path ?? "$", FirstSentence(ex.Message)));
        }

        if (profile is null && problems.Count == 0)
        {
            return (null, new ProfileError(source, [$"{source}:1: $: the file holds no profile"]));
        }

        if (profile is not null)
        {
            problems.AddRange(Check(profile, sectors ?? DecodingOptions.DefaultSectors, vocabulary ?? RuleVocabulary.BuiltIn));
        }

        if (problems.Count == 0)
        {
            return (profile! with { Source = source }, null);
        }

        var lines = LineMap(utf8);
        return (null, new ProfileError(source, [.. problems.Select(p => $"{source}:{LineOf(lines, p.Path)}: {p.Path}: {p.Problem}")]));
    }

    /// <summary>Every property of the file that the profile's types do not have, at any depth.</summary>
    private static void UnknownProperties(JsonElement element, JsonTypeInfo info, string path, List<(string Path, string Problem)> problems)
    {
        switch (info.Kind)
        {
            case JsonTypeInfoKind.Object when element.ValueKind == JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var at = $"{path}.{property.Name}";
                    var known = info.Properties.FirstOrDefault(p => p.Name == property.Name);
                    if (known is null)
                    {
                        problems.Add((at, $"unknown property '{property.Name}' (known here: {string.Join(", ", info.Properties.Select(p => p.Name))})"));
                    }
                    else
                    {
                        UnknownProperties(property.Value, Json.GetTypeInfo(known.PropertyType), at, problems);
                    }
                }

                break;
            case JsonTypeInfoKind.Dictionary when element.ValueKind == JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    UnknownProperties(property.Value, Json.GetTypeInfo(info.ElementType!), $"{path}.{property.Name}", problems);
                }

                break;
            case JsonTypeInfoKind.Enumerable when element.ValueKind == JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    UnknownProperties(item, Json.GetTypeInfo(info.ElementType!), $"{path}[{index++}]", problems);
                }

                break;
        }
    }

    /// <summary>JSON path -> 1-based line of the property (or array element) that starts it.</summary>
    private static Dictionary<string, int> LineMap(byte[] utf8)
    {
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        var reader = new Utf8JsonReader(utf8, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        var stack = new Stack<(string Path, int Index, bool IsArray)>();
        var pendingProperty = "$";
        var line = 1;
        var scanned = 0;
        try
        {
            while (reader.Read())
            {
                var start = (int)reader.TokenStartIndex;
                for (; scanned < start; scanned++)
                {
                    line += utf8[scanned] == (byte)'\n' ? 1 : 0;
                }

                string path;
                if (stack.Count > 0 && stack.Peek().IsArray && reader.TokenType is not JsonTokenType.EndArray)
                {
                    var (arrayPath, index, _) = stack.Pop();
                    path = $"{arrayPath}[{index}]";
                    stack.Push((arrayPath, index + 1, true));
                    map.TryAdd(path, line);
                }
                else
                {
                    path = pendingProperty;
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        pendingProperty = $"{stack.Peek().Path}.{reader.GetString()}";
                        map.TryAdd(pendingProperty, line);
                        break;
                    case JsonTokenType.StartObject:
                        stack.Push((path, 0, false));
                        break;
                    case JsonTokenType.StartArray:
                        stack.Push((path, 0, true));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        stack.Pop();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            // Syntax errors are reported by the deserializer with their own line.
        }

        return map;
    }

    private static int LineOf(Dictionary<string, int> lines, string path)
    {
        // The nearest enclosing path that has a line (a missing property is reported at its parent).
        for (var p = path; p.Length > 0; p = Parent(p))
        {
            if (lines.TryGetValue(p, out var line))
            {
                return line;
            }
        }

        return 1;
    }

    private static string Parent(string path)
    {
        var cut = Math.Max(path.LastIndexOf('.'), path.LastIndexOf('['));
        return cut > 0 ? path[..cut] : "";
    }

    private static string FirstSentence(string message)
    {
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}

using System.Text.Json;
using SmartCity.Telemetry.Devices.Profiles;

namespace SmartCity.Telemetry.Tests.Devices.NetworkServers;

/// <summary>
/// The third-party LoRaWAN reference data (network-server samples, makers' codec examples and
/// vectors), read where CI keeps it: <c>../shared/field-networks</c> beside the repository's clone.
/// It is not ours, so it is read, never copied into the repository.
/// </summary>
internal static class FieldNetworks
{
    public static string Root
    {
        get
        {
            var root = Path.GetFullPath(Path.Combine(ProfileGoldenTests.RepositoryRoot, "..", "shared", "field-networks"));
            return Directory.Exists(root)
                ? root
                : throw new DirectoryNotFoundException($"LoRaWAN reference data not found: put the field-networks folder (samples/, codecs/, vectors/) at {root}");
        }
    }

    public static string Sample(string relative) => File.ReadAllText(Path.Combine(Root, "samples", relative));

    public static IReadOnlyList<JsonElement> Vectors(string device) =>
        [.. File.ReadLines(Path.Combine(Root, "vectors", device + ".jsonl")).Where(l => l.Length > 0).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    /// <summary>The built-in profiles plus the example light controller of networks/examples.</summary>
    public static ProfileSet Profiles { get; } = ProfileLoader.LoadAll(Path.Combine(ProfileGoldenTests.RepositoryRoot, "networks", "examples", "profiles"));

    public static string ExamplesDirectory => Path.Combine(ProfileGoldenTests.RepositoryRoot, "networks", "examples");
}

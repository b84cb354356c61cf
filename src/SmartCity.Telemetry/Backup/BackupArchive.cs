using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace SmartCity.Telemetry.Backup;

/// <summary>One file of a backup: its name in the archive, where it came from, its size and SHA-256.</summary>
public sealed record BackupEntry(string Name, string Source, long Bytes, string Sha256);

/// <summary>What a backup holds (<c>manifest.json</c>, the archive's first entry).</summary>
public sealed record BackupManifest(string Format, DateTimeOffset CreatedAt, string Host, IReadOnlyList<BackupEntry> Entries);

/// <summary>
/// The worker's backup archive: a zip with <c>manifest.json</c> (every file's source path, size and
/// SHA-256) and the files under their names (<c>registry.json</c>, <c>alerts.json</c>,
/// <c>alerts.devices.json</c>, <c>rules/</c>, <c>profiles/</c>, <c>accounts/</c>). Written by the worker's
/// <c>GET /api/admin/backup</c>, checked and restored by <c>smartcity-backup</c>.
/// </summary>
public static class BackupArchive
{
    public const string Format = "smartcity-backup/1";
    public const string ManifestName = "manifest.json";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    public static void Write(Stream output, IReadOnlyList<(string Name, string Source, byte[] Content)> files, DateTimeOffset createdAt)
    {
        var manifest = new BackupManifest(Format, createdAt, Environment.MachineName,
            [.. files.Select(f => new BackupEntry(f.Name, f.Source, f.Content.LongLength, Hash(f.Content)))]);
        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        using (var stream = zip.CreateEntry(ManifestName, CompressionLevel.Optimal).Open())
        {
            JsonSerializer.Serialize(stream, manifest, Json);
        }

        foreach (var (name, _, content) in files)
        {
            using var stream = zip.CreateEntry(name, CompressionLevel.Optimal).Open();
            stream.Write(content);
        }
    }

    /// <summary>Reads the archive and checks it whole: the manifest, every listed file present with its size and hash, nothing else, no name leaving the target folder.</summary>
    /// <returns>The manifest and the files; <paramref name="problems"/> lists what is wrong (empty: the archive is intact).</returns>
    public static (BackupManifest? Manifest, Dictionary<string, byte[]> Files) Read(Stream archive, List<string> problems)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        BackupManifest? manifest = null;
        try
        {
            using var zip = new ZipArchive(archive, ZipArchiveMode.Read, leaveOpen: true);
            foreach (var entry in zip.Entries)
            {
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                files[entry.FullName] = copy.ToArray();
            }

            manifest = files.Remove(ManifestName, out var json) ? JsonSerializer.Deserialize<BackupManifest>(json, Json) : null;
        }
        catch (Exception ex) when (ex is InvalidDataException or JsonException or IOException)
        {
            problems.Add($"not a readable backup archive: {ex.Message}");
            return (null, files);
        }

        if (manifest is null || manifest.Format != Format)
        {
            problems.Add($"no {ManifestName} of format {Format}");
            return (manifest, files);
        }

        foreach (var entry in manifest.Entries)
        {
            if (!IsSafeName(entry.Name))
            {
                problems.Add($"{entry.Name}: not a relative path inside the backup");
            }
            else if (!files.TryGetValue(entry.Name, out var content))
            {
                problems.Add($"{entry.Name}: listed in the manifest, missing from the archive");
            }
            else if (content.LongLength != entry.Bytes || Hash(content) != entry.Sha256)
            {
                problems.Add($"{entry.Name}: size or SHA-256 differs from the manifest (damaged or altered)");
            }
        }

        problems.AddRange(files.Keys.Except(manifest.Entries.Select(e => e.Name)).Select(n => $"{n}: in the archive but not in the manifest"));
        return (manifest, files);
    }

    public static string Hash(byte[] content) => Convert.ToHexStringLower(SHA256.HashData(content));

    /// <summary>A relative path of plain segments: nothing can be written outside the restore folder.</summary>
    public static bool IsSafeName(string name) =>
        name.Length > 0 && !Path.IsPathRooted(name) && !name.Contains('\\', StringComparison.Ordinal)
        && name.Split('/').All(s => s.Length > 0 && s != "." && s != "..");
}

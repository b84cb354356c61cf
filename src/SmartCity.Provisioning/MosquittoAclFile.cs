namespace SmartCity.Provisioning;

/// <summary>Where a device sits in the topic tree (docs/device-contract.md).</summary>
public sealed record DevicePlacement(string Root, string Sector, string District, string Site, string DeviceType)
{
    /// <summary>Kinds a device publishes; <c>cmd</c> it only reads.</summary>
    public static readonly IReadOnlyList<string> PublishedKinds = ["telemetry", "status", "event"];

    public const string CommandKind = "cmd";

    public string TopicFor(string deviceId, string kind) => $"{Root}/{Sector}/{District}/{Site}/{DeviceType}/{deviceId}/{kind}";
}

/// <summary>A device's block in the ACL file, as <c>device list</c> shows it.</summary>
public sealed record ProvisionedDevice(string DeviceId, IReadOnlyList<string> AclLines, bool HasPassword);

/// <summary>
/// Per-device blocks in a mosquitto acl_file, each between two marker comments so that the tool
/// finds (and removes) exactly what it wrote and never touches hand-written rules:
/// <code>
/// # smartcity-provision begin lamp-000123
/// user lamp-000123
/// topic write city/lighting/d01/street-4/streetlight/lamp-000123/telemetry
/// ...
/// topic read city/lighting/d01/street-4/streetlight/lamp-000123/cmd
/// # smartcity-provision end lamp-000123
/// </code>
/// A block starts with its own <c>user</c> line, so appending it after any hand-written
/// <c>user</c> section ends that section, as mosquitto reads the file.
/// </summary>
public static class MosquittoAclFile
{
    private const string BeginMarker = "# smartcity-provision begin ";
    private const string EndMarker = "# smartcity-provision end ";

    /// <summary>Topic segments and device ids: the device contract's alphabet, which needs no escaping in ACLs, topics or InfluxDB tags.</summary>
    public static bool IsValidSegment(string value) => SmartCity.Telemetry.Devices.TopicParser.IsValidSegment(value);

    /// <summary>A topic root: one or more valid segments separated by '/'.</summary>
    public static bool IsValidRoot(string value) => value.Split('/').All(IsValidSegment);

    /// <summary>The lines of a new device block.</summary>
    public static IReadOnlyList<string> BlockFor(string deviceId, DevicePlacement placement)
    {
        var lines = new List<string> { BeginMarker + deviceId, "user " + deviceId };
        lines.AddRange(DevicePlacement.PublishedKinds.Select(k => "topic write " + placement.TopicFor(deviceId, k)));
        lines.Add("topic read " + placement.TopicFor(deviceId, DevicePlacement.CommandKind));
        lines.Add(EndMarker + deviceId);
        return lines;
    }

    /// <summary>The file with the device's block appended. Throws when the device already has one.</summary>
    public static string Add(string content, string deviceId, DevicePlacement placement)
    {
        if (Blocks(content).ContainsKey(deviceId))
        {
            throw new ProvisioningException($"device '{deviceId}' already has ACL entries; revoke it first");
        }

        return Append(content, BlockFor(deviceId, placement));
    }

    /// <summary>The file with <paramref name="lines"/> appended between the markers of <paramref name="id"/>; throws when that block exists.</summary>
    public static string AddBlock(string content, string id, IEnumerable<string> lines)
    {
        if (Blocks(content).ContainsKey(id))
        {
            throw new ProvisioningException($"'{id}' already has ACL entries; revoke it first");
        }

        return Append(content, [BeginMarker + id, .. lines, EndMarker + id]);
    }

    private static string Append(string content, IEnumerable<string> block)
    {
        var lines = SplitLines(content);
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        if (lines.Count > 0)
        {
            lines.Add("");
        }

        lines.AddRange(block);
        return string.Join('\n', lines) + "\n";
    }

    /// <summary>The file without the device's block (and the blank line before it); false when it had none.</summary>
    public static bool TryRemove(string content, string deviceId, out string result)
    {
        result = content;
        if (!Blocks(content).TryGetValue(deviceId, out var range))
        {
            return false;
        }

        var lines = SplitLines(content);
        var start = range.Start;
        if (start > 0 && lines[start - 1].Length == 0)
        {
            start--;
        }

        lines.RemoveRange(start, range.End - start + 1);
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        result = lines.Count == 0 ? "" : string.Join('\n', lines) + "\n";
        return true;
    }

    /// <summary>Each provisioned device with the ACL lines between its markers.</summary>
    public static IReadOnlyList<(string DeviceId, IReadOnlyList<string> Lines)> Devices(string content)
    {
        var lines = SplitLines(content);
        return Blocks(content)
            .OrderBy(b => b.Value.Start)
            .Select(b => (b.Key, (IReadOnlyList<string>)lines.GetRange(b.Value.Start + 1, b.Value.End - b.Value.Start - 1)))
            .ToList();
    }

    /// <summary>
    /// Line ranges (begin marker .. end marker) of every block. A begin without its end, a nested
    /// or a repeated block means the file was edited by hand in a way the tool cannot undo
    /// safely: it refuses to touch the file at all rather than guess.
    /// </summary>
    private static Dictionary<string, (int Start, int End)> Blocks(string content)
    {
        var blocks = new Dictionary<string, (int Start, int End)>(StringComparer.Ordinal);
        var lines = SplitLines(content);
        string? open = null;
        var openAt = 0;
        for (var i = 0; i < lines.Count; i++)
        {
            var line = lines[i].Trim();
            if (line.StartsWith(BeginMarker, StringComparison.Ordinal))
            {
                if (open is not null)
                {
                    throw new ProvisioningException($"ACL file line {i + 1}: block of '{open}' (line {openAt + 1}) is not closed; fix the file by hand");
                }

                open = line[BeginMarker.Length..].Trim();
                openAt = i;
            }
            else if (line.StartsWith(EndMarker, StringComparison.Ordinal))
            {
                var id = line[EndMarker.Length..].Trim();
                if (open != id)
                {
                    throw new ProvisioningException($"ACL file line {i + 1}: end of '{id}' without its begin; fix the file by hand");
                }

                if (!blocks.TryAdd(id, (openAt, i)))
                {
                    throw new ProvisioningException($"ACL file line {i + 1}: '{id}' has two blocks; fix the file by hand");
                }

                open = null;
            }
        }

        return open is null ? blocks : throw new ProvisioningException($"ACL file line {openAt + 1}: block of '{open}' is not closed; fix the file by hand");
    }

    private static List<string> SplitLines(string content)
    {
        var lines = content.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);   // the final newline
        }

        return lines;
    }
}

/// <summary>A refusal the operator can act on (printed without a stack trace).</summary>
public sealed class ProvisioningException(string message) : Exception(message);

using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Plugins;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>
/// Every golden case beside every built-in profile (profiles/{id}/golden/*.json): a sample payload
/// and exactly the lines it must become, or the rejection it must get.
/// </summary>
public class ProfileGoldenTests
{
    public static string RepositoryRoot { get; } = FindRoot();

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot, "profiles"), "*.json", SearchOption.AllDirectories)
                     .Where(f => f.Contains($"{Path.DirectorySeparatorChar}golden{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
                     .Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetRelativePath(RepositoryRoot, file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Decode_GoldenCase_GivesExactlyTheExpectedOutcome(string relativePath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepositoryRoot, relativePath)), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
        var c = doc.RootElement;
        var payload = c.TryGetProperty("payloadBase64", out var binary) ? Convert.FromBase64String(binary.GetString()!)
            : Encoding.UTF8.GetBytes(c.TryGetProperty("payloadText", out var text) ? text.GetString()! : c.GetProperty("payload").GetRawText());
        var receivedAt = c.GetProperty("receivedAt").GetDateTimeOffset();
        var decoder = new MessageDecoder(Options.Create(new DecodingOptions()), ProfileLoader.LoadAll(null), [new CompactLampFrameDecoder()]);

        var outcome = decoder.Decode(c.GetProperty("topic").GetString()!, new ReadOnlySequence<byte>(payload), receivedAt);

        var expect = c.GetProperty("expect");
        if (expect.TryGetProperty("line", out var line))
        {
            Assert.True(outcome.Status == DecodeStatus.Accepted, $"{relativePath}: expected a point, got {outcome.Result}");
            Assert.Equal(line.GetString(), LineProtocol.Format(outcome.Result.Point!));
        }
        else
        {
            Assert.True(outcome.Status == DecodeStatus.Rejected, $"{relativePath}: expected a rejection, got {outcome.Result}");
            Assert.Equal(expect.GetProperty("rejected").GetString(), outcome.Result.Reason.ToString());
            Assert.Contains(expect.GetProperty("detail").GetString()!, outcome.Result.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void BuiltInProfiles_EachMessageKindHasAcceptedAndRejectedGoldenCases()
    {
        var profiles = ProfileLoader.LoadAll(null);
        Assert.Empty(profiles.Errors);
        foreach (var profile in profiles.Profiles)
        {
            var folder = Path.Combine(RepositoryRoot, "profiles", profile.Id, "golden");
            var cases = Directory.Exists(folder)
                ? Directory.GetFiles(folder, "*.json").Select(f => JsonDocument.Parse(File.ReadAllText(f), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip }).RootElement).ToList()
                : [];
            foreach (var kind in profile.Messages.Keys)
            {
                var ofKind = cases.Where(c => c.GetProperty("topic").GetString()!.EndsWith("/" + kind, StringComparison.Ordinal)).ToList();
                Assert.True(ofKind.Any(c => c.GetProperty("expect").TryGetProperty("line", out _)), $"{profile.Id}/{kind}: no accepted golden case");
                Assert.True(ofKind.Any(c => c.GetProperty("expect").TryGetProperty("rejected", out _)), $"{profile.Id}/{kind}: no rejected golden case");
            }
        }
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartCity.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("SmartCity.sln not found above " + AppContext.BaseDirectory);
    }
}

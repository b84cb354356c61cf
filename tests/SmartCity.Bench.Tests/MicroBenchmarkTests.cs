using System.Buffers;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using SmartCity.MicroBench;
using SmartCity.Simulators.Lighting;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Bench.Tests;

/// <summary>
/// Each micro-benchmark method (bench/SmartCity.MicroBench), run once in-process as BenchmarkDotNet
/// would after its [GlobalSetup], returns the worker's correct result: a benchmark that measures a
/// rejected message, an empty line or an exception is no measurement of the message path. No timing.
/// </summary>
public sealed class MicroBenchmarkTests
{
    private static readonly MethodInfo[] Benchmarks = typeof(MessagePathBenchmarks).GetMethods(BindingFlags.Public | BindingFlags.Instance)
        .Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null)
        .ToArray();

    public static TheoryData<string> BenchmarkNames() => [.. Benchmarks.Select(m => m.Name)];

    [Fact]
    public void MessagePathBenchmarks_Discovered_CoverDecodeFormatAndReject()
    {
        // A renamed or dropped benchmark must show here, not silently leave the theory below.
        Assert.Superset(new HashSet<string>(["Decode", "FormatLine", "DecodeAndFormat", "RejectAndDeadLetter", "JsonDocumentParseOnly"], StringComparer.Ordinal),
            new HashSet<string>(Benchmarks.Select(m => m.Name), StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(BenchmarkNames))]
    public void Benchmark_RunOnceAfterSetup_ReturnsTheWorkersResult(string name)
    {
        var before = DateTimeOffset.UtcNow;
        var bench = new MessagePathBenchmarks();
        bench.Setup();
        var result = Benchmarks.Single(m => m.Name == name).Invoke(bench, null);

        Assert.NotNull(result);
        switch (name)
        {
            case "Decode":
                var outcome = Assert.IsType<DecodeOutcome>(result);
                Assert.Equal(DecodeStatus.Accepted, outcome.Status);
                Assert.Equal("street_light", outcome.Result.Point!.Measurement);
                break;
            case "FormatLine" or "DecodeAndFormat":
                AssertStreetLightLine(Text(result), before);
                break;
            case "RejectAndDeadLetter":
                var deadLetter = Text(result);
                Assert.StartsWith(DeadLetters.Measurement + ",", deadLetter, StringComparison.Ordinal);
                Assert.Contains("reason=", deadLetter, StringComparison.Ordinal);
                Assert.DoesNotContain('\n', deadLetter);
                break;
            case "JsonDocumentParseOnly":
                // The benchmark's payload is the simulator's lamp telemetry: as many properties as a fresh one.
                var message = new StreetLightFleet(1_000, 4, "city", 1, before.AddHours(-1), TimeSpan.FromMinutes(1)).Create(12_345);
                using (var json = JsonDocument.Parse(message.Payload))
                {
                    Assert.Equal(json.RootElement.GetPropertyCount(), Assert.IsType<int>(result));
                }

                break;
            default:
                // A benchmark added later: it ran and returned something; name its checks here.
                break;
        }
    }

    [Fact]
    public void FormatLine_And_DecodeAndFormat_WriteTheSameLine()
    {
        var bench = new MessagePathBenchmarks();
        bench.Setup();
        Assert.Equal(Text(Invoke(bench, "FormatLine")), Text(Invoke(bench, "DecodeAndFormat")));
    }

    private static object? Invoke(MessagePathBenchmarks bench, string name) => Benchmarks.Single(m => m.Name == name).Invoke(bench, null);

    /// <summary>The line as text, whether the benchmark returns a string or the UTF-8 bytes the worker sends.</summary>
    private static string Text(object? result) => result switch
    {
        string s => s,
        byte[] b => Encoding.UTF8.GetString(b),
        ReadOnlyMemory<byte> m => Encoding.UTF8.GetString(m.Span),
        Memory<byte> m => Encoding.UTF8.GetString(m.Span),
        ReadOnlySequence<byte> s => Encoding.UTF8.GetString(s),
        _ => throw new Xunit.Sdk.XunitException($"a line-protocol benchmark returned {result?.GetType().Name ?? "null"}, not the line"),
    };

    /// <summary>street_light,tags fields ns: one line, the lamp's tags and power, the device timestamp of the last hour.</summary>
    private static void AssertStreetLightLine(string line, DateTimeOffset now)
    {
        Assert.StartsWith("street_light,", line, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line.TrimEnd('\n'));
        Assert.Contains("device_id=lamp-", line, StringComparison.Ordinal);
        Assert.Contains("power_w=", line, StringComparison.Ordinal);
        var ns = long.Parse(line.TrimEnd('\n')[(line.TrimEnd('\n').LastIndexOf(' ') + 1)..], NumberStyles.None, CultureInfo.InvariantCulture);
        var ts = DateTimeOffset.UnixEpoch.AddTicks(ns / 100);
        Assert.InRange(ts, now.AddHours(-1).AddDays(-1), now.AddMinutes(1));
    }
}

using System.Buffers;
using System.Text;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Devices.Profiles;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Telemetry.Tests.Devices;

/// <summary>
/// Issue 24: duplicate keys were accepted with the last one winning, and invalid UTF-8 inside a
/// string made decoding throw. Both are MalformedJson rejections naming what is wrong.
/// </summary>
public class JsonStrictnessTests
{
    private const string Lamp = "city/lighting/d01/d01-street-001/streetlight/lamp-000001";
    private const string Ts = "\"ts\":\"2026-11-28T21:59:30.250Z\"";
    private static readonly DateTimeOffset Now = new(2026, 11, 28, 22, 0, 0, TimeSpan.Zero);
    private static readonly MessageDecoder Decoder = new(Options.Create(new DecodingOptions()), ProfileLoader.LoadAll(null), []);

    private static DecodeOutcome Decode(string kind, byte[] payload) =>
        Decoder.Decode($"{Lamp}/{kind}", new ReadOnlySequence<byte>(payload), Now);

    [Theory]
    [InlineData("{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5,\"dim_pct\":99}", "dim_pct")]
    [InlineData("{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5,\"dim\\u005fpct\":99}", "dim_pct")]
    [InlineData("{\"v\":1," + Ts + ",\"v\":1,\"on\":true,\"dim_pct\":10,\"power_w\":5}", "v")]
    [InlineData("{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5,\"faults\":[],\"faults\":[\"lamp_failure\"]}", "faults")]
    [InlineData("{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5,\"meta\":{\"a\":1,\"a\":2}}", "meta.a")]
    [InlineData("{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5,\"extra\":[{\"x\":1},{\"y\":1,\"y\":2}]}", "extra[1].y")]
    public void Decode_DuplicateKey_RejectedMalformedJsonNamingTheKey(string payload, string key)
    {
        var outcome = Decode("telemetry", Encoding.UTF8.GetBytes(payload));

        Assert.Equal(DecodeStatus.Rejected, outcome.Status);
        Assert.Equal(RejectReason.MalformedJson, outcome.Result.Reason);
        Assert.Equal($"duplicate key '{key}' (each key may appear once per object)", outcome.Result.Detail);
    }

    [Fact]
    public void Decode_DuplicateKeyInABirth_Rejected()
    {
        var birth = "{\"v\":1," + Ts + ",\"online\":true,\"profile\":\"streetlight\",\"district\":\"d01\",\"district\":\"d99\"}";

        var outcome = Decode("status", Encoding.UTF8.GetBytes(birth));

        Assert.Equal(RejectReason.MalformedJson, outcome.Result.Reason);
        Assert.Contains("'district'", outcome.Result.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_ManyDistinctKeys_Accepted_AndADuplicateAmongManyIsFound()
    {
        var extra = string.Concat(Enumerable.Range(0, 40).Select(i => $",\"x{i}\":{i}"));
        var good = "{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5" + extra + "}";

        Assert.Equal(DecodeStatus.Accepted, Decode("telemetry", Encoding.UTF8.GetBytes(good)).Status);
        var outcome = Decode("telemetry", Encoding.UTF8.GetBytes(good.Replace("\"x39\"", "\"x3\"", StringComparison.Ordinal)));
        Assert.Equal("duplicate key 'x3' (each key may appear once per object)", outcome.Result.Detail);
    }

    /// <summary>
    /// The check hashes the raw names in one pass and falls back to exact comparisons only on a match,
    /// an escaped name or a large object: whatever the keys, a duplicate is found exactly when there is
    /// one, and the key named is the first one repeated in document order (also when it was escaped).
    /// </summary>
    [Fact]
    public void Decode_RandomKeySets_DuplicateFoundExactlyWhenPresent_NamingTheFirstRepeatedKey()
    {
        var random = new Random(25);
        for (var run = 0; run < 2_000; run++)
        {
            // Few distinct names (k0..k44), so duplicates, near misses and objects past 32 keys all occur.
            var names = Enumerable.Range(0, random.Next(0, 40)).Select(_ => "k" + random.Next(0, 45)).ToList();
            var json = new StringBuilder("{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5");
            foreach (var name in names)
            {
                // Some names spell their last character as a JSON escape: "k\u0033" is the key "k3".
                var spelled = random.Next(8) == 0 ? name[..^1] + $"\\u{(int)name[^1]:x4}" : name;
                json.Append($",\"{spelled}\":{random.Next(100)}");
            }

            var seen = new HashSet<string>(StringComparer.Ordinal);
            var expected = names.FirstOrDefault(n => !seen.Add(n));
            var outcome = Decode("telemetry", Encoding.UTF8.GetBytes(json.Append('}').ToString()));

            if (expected is null)
            {
                Assert.True(outcome.Status == DecodeStatus.Accepted, $"{json}: {outcome.Result.Detail}");
            }
            else
            {
                Assert.Equal($"duplicate key '{expected}' (each key may appear once per object)", outcome.Result.Detail);
            }
        }
    }

    [Theory]
    [InlineData("telemetry", "{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5,\"device\":\"@\"}")]
    [InlineData("telemetry", "{\"v\":1,\"ts\":\"2026-11-28T21:59:30.250@\",\"on\":true,\"dim_pct\":10,\"power_w\":5}")]
    [InlineData("telemetry", "{\"v\":1," + Ts + ",\"on\":true,\"dim_pct\":10,\"power_w\":5,\"faults\":[\"@\"]}")]
    [InlineData("status", "{\"v\":1," + Ts + ",\"online\":true,\"profile\":\"street@\"}")]
    public void Decode_InvalidUtf8InAString_RejectedMalformedJson_NotThrown(string kind, string payload)
    {
        // '@' stands for a lone 0xFF byte, which no UTF-8 text contains.
        var bytes = Encoding.UTF8.GetBytes(payload).Select(b => b == (byte)'@' ? (byte)0xFF : b).ToArray();

        var outcome = Decode(kind, bytes);

        Assert.Equal(RejectReason.MalformedJson, outcome.Result.Reason);
        Assert.Equal("payload is not valid UTF-8", outcome.Result.Detail);
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using MQTTnet.Protocol;
using SmartCity.IntegrationTests.Devices;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Security;

/// <summary>
/// Seeded fuzzing through the real mosquitto into the real worker and InfluxDB: thousands of random
/// and hostile payloads and topics (random bytes, broken JSON, deep nesting, huge strings, wrong
/// types, control characters, unicode, forbidden topic segments) interleaved with valid readings
/// of a known fleet. The worker stays healthy throughout, every valid reading is stored, and every
/// hostile message is counted under exactly one rejection reason and dead-lettered.
/// HostileInputTests checks each hostile kind exactly; this test checks volume and variety.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261129;
    private const int Bad = 3_000;
    private const int Good = 1_500;
    private const int Lamps = 50;
    private const int Publishers = 4;

    /// <summary>Characters the device contract forbids in topic segments (MQTT itself allows them; '+', '#' and NUL it does not).</summary>
    private static readonly string[] Forbidden = [" ", ",", "=", "\"", "'", "\\", "é", "区", "😀", "\u00a0", ":", ";", "*", "%", "&", "<", ">", "?", "!"];

    [Fact]
    public async Task Fuzz_ThousandsOfHostileMessagesAmongValidOnes_WorkerHealthyAllValidStoredEveryRejectionCounted()
    {
        var clock = Stopwatch.StartNew();
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db);
        var root = worker.TopicRoot;
        var fleet = new StreetLightFleet(Lamps, 3, root, seed: Seed, DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddHours(-2)), TimeSpan.FromSeconds(10));
        var publishers = new List<MqttPublisher>();
        for (var p = 0; p < Publishers; p++)
        {
            publishers.Add(await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("fuzz-"), CancellationToken.None));
        }

        try
        {
            await LightingSimulation.AnnounceAsync(fleet, publishers[0], MqttQualityOfServiceLevel.AtLeastOnce, CancellationToken.None);
            await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= Lamps, DeviceTestKit.Timeout);

            // Every message decided up front from the seed: a failure can be replayed exactly.
            var random = new Random(Seed);
            var messages = new List<(string Topic, byte[] Payload, string Kind)>(Bad + Good);
            long good = 0;
            for (var i = 0; i < Bad + Good; i++)
            {
                if (i % 3 == 2 && good < Good)
                {
                    var m = fleet.Create(good++);
                    messages.Add((m.Topic, m.Payload, "good"));
                }
                else
                {
                    messages.Add(Hostile(random, root, fleet));
                }
            }

            Assert.Equal(Good, good);
            var bad = messages.Count(m => m.Kind != "good");
            output.WriteLine($"seed {Seed}: {bad} hostile ({string.Join(", ", messages.Where(m => m.Kind != "good").GroupBy(m => m.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"))}), {Good} valid");

            using var health = new HealthWatch(worker);
            // Each publisher keeps its share in order; the shares run side by side.
            await Task.WhenAll(Enumerable.Range(0, Publishers).Select(p => Task.Run(async () =>
            {
                for (var i = p; i < messages.Count; i += Publishers)
                {
                    await publishers[p].PublishAsync(messages[i].Topic, messages[i].Payload, MqttQualityOfServiceLevel.AtLeastOnce, retain: false, CancellationToken.None);
                }
            })));

            var s = await worker.Metrics.WaitUntilAsync(x => x.PointsWritten >= Lamps + Good && x.Rejected >= bad && x.DeadLettersWritten >= bad, DeviceTestKit.Timeout);
            var polls = await health.StopAsync();
            output.WriteLine($"FIGURES fuzz: {bad + Good} messages published and stored in {clock.Elapsed.TotalSeconds:F1} s (incl. setup); /healthz polled {polls.Count} times; rejected by reason: {JsonSerializer.Serialize(s.RejectedByReason)}");

            // Healthy throughout, never reconnected, nothing logged as an error.
            Assert.True(polls.Count >= 3, $"/healthz polled only {polls.Count} times");
            Assert.All(polls, code => Assert.Equal(HttpStatusCode.OK, code));
            Assert.True(s.SourceConnected);
            Assert.Equal(0, s.Reconnects);
            Assert.Empty(worker.Logs.AtLeast(LogLevel.Error));

            // Everything that reached the worker is accounted for: stored, or rejected under one reason.
            Assert.Equal(Lamps + Good + bad, s.Received);
            Assert.Equal(0, s.Ignored);
            Assert.Equal(Lamps + Good, s.PointsWritten);
            Assert.Equal(bad, s.Rejected);
            Assert.Equal(bad, s.RejectedByReason.Values.Sum());
            Assert.Equal(bad, s.DeadLettersWritten);
            var api = await DeviceTestKit.GetJsonAsync(worker, "/api/pipeline");
            Assert.Equal(bad, api.GetProperty("rejected").GetInt64());

            // In InfluxDB: every valid reading, once, at its device time; every hostile message as a dead letter.
            Assert.Equal(Good, await db.CountAsync("SELECT count(power_w) FROM street_light"));
            var sent = messages.Where(m => m.Kind == "good")
                .Select(m => (Device: m.Topic.Split('/')[^2], Ms: DateTimeOffset.Parse(JsonDocument.Parse(m.Payload).RootElement.GetProperty("ts").GetString()!, CultureInfo.InvariantCulture).ToUnixTimeMilliseconds()))
                .ToHashSet();
            var stored = (await db.RowsAsync("SELECT power_w FROM street_light GROUP BY device_id")).Select(r => (Device: r.Tags["device_id"], Ms: r.Row["time"].GetInt64())).ToHashSet();
            Assert.True(sent.SetEquals(stored), $"{sent.Except(stored).Count()} valid readings missing, {stored.Except(sent).Count()} points never sent");
            Assert.Equal(bad, await db.CountAsync("SELECT count(payload_bytes) FROM dead_letter"));
        }
        finally
        {
            foreach (var p in publishers)
            {
                await p.DisposeAsync();
            }
        }
    }

    /// <summary>One hostile message: payloads on a real lamp's telemetry topic, or a valid payload on a hostile topic. None can be accepted.</summary>
    private static (string Topic, byte[] Payload, string Kind) Hostile(Random r, string root, StreetLightFleet fleet)
    {
        var lamp = fleet.Lamps[r.Next(fleet.Lamps.Count)];
        var topic = StreetLightFleet.TopicFor(root, lamp, "telemetry");
        var valid = fleet.Create(r.Next(Good)).Payload;   // a realistic device time, so the hostile part is what gets rejected
        var ts = JsonDocument.Parse(valid).RootElement.GetProperty("ts").GetString();
        string Json(string fields) => $$"""{"v":1,"ts":"{{ts}}",{{fields}}}""";
        switch (r.Next(12))
        {
            case 0:
                return (topic, Bytes(r, r.Next(1, 2_000)), "random-bytes");
            case 1:
                // Cut anywhere before the closing brace: never valid JSON.
                return (topic, valid[..r.Next(0, valid.Length - 1)], "truncated-json");
            case 2:
            {
                var depth = r.Next(9, 3_000);
                var nested = r.Next(2) == 0
                    ? new string('[', depth) + new string(']', depth)
                    : string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth);
                return (topic, Utf8(nested), "deep-nesting");
            }

            case 3:
                // Over Decoding:MaxPayloadBytes (64 KiB) by a little or by a lot.
                return (topic, Utf8(Json($"\"on\":true,\"dim_pct\":50,\"power_w\":20,\"x\":\"{new string('x', r.Next(65_536, r.Next(10) == 0 ? 1_000_000 : 100_000))}\"")), "oversized");
            case 4:
                return (topic, Utf8(Json($"\"on\":true,\"dim_pct\":50,\"power_w\":\"{new string('9', r.Next(1, 60_000))}\"")), "huge-string-field");
            case 5:
            {
                string[] wrong = ["\"on\":5,\"dim_pct\":50,\"power_w\":20", "\"on\":true,\"dim_pct\":\"half\",\"power_w\":20", "\"on\":true,\"dim_pct\":50,\"power_w\":[20]",
                    "\"on\":true,\"dim_pct\":50,\"power_w\":{\"w\":20}", "\"on\":null,\"dim_pct\":50,\"power_w\":20", "\"on\":true,\"dim_pct\":50,\"power_w\":true"];
                return (topic, Utf8(Json(wrong[r.Next(wrong.Length)])), "wrong-type");
            }

            case 6:
            {
                // Raw control characters inside a JSON string are invalid JSON.
                var control = new string(Enumerable.Range(0, r.Next(1, 20)).Select(_ => (char)r.Next(0, 32)).ToArray());
                return (topic, Utf8(Json($"\"on\":true,\"dim_pct\":50,\"power_w\":20,\"note\":\"{control}\"")), "control-chars");
            }

            case 7:
            {
                // Text in many scripts, emoji, lone surrogates (sent as U+FFFD), BOM: never JSON.
                string[] pieces = ["区域", "ламп", "🔥", "\ud800", "\ufeff", "é", "\u202e", "مصباح", "\u0000", "{", "\""];
                return (topic, Utf8(string.Concat(Enumerable.Range(0, r.Next(1, 200)).Select(_ => pieces[r.Next(pieces.Length)]))), "unicode-text");
            }

            case 8:
            {
                string[] range = ["\"on\":true,\"dim_pct\":50,\"power_w\":-1", "\"on\":true,\"dim_pct\":50,\"power_w\":1e308", "\"on\":true,\"dim_pct\":500,\"power_w\":20",
                    "\"on\":true,\"dim_pct\":50,\"power_w\":1e999"];
                return (topic, Utf8(Json(range[r.Next(range.Length)])), "out-of-range");
            }

            case 9:
                return (topic, Utf8(r.Next(3) switch
                {
                    0 => """{"v":1,"on":true,"dim_pct":50,"power_w":20}""",
                    1 => """{"v":1,"ts":"yesterday","on":true,"dim_pct":50,"power_w":20}""",
                    _ => """{"v":99,"ts":"2026-01-01T00:00:00Z","on":true,"dim_pct":50,"power_w":20}""",
                }), "bad-envelope");
            case 10:
                return (HostileTopic(r, root, lamp), valid, "hostile-topic");
            default:
                // A device nobody announced, or one that claims another district than its birth.
                return r.Next(2) == 0
                    ? (StreetLightFleet.TopicFor(root, lamp with { DeviceId = $"lamp-9{r.Next(100_000, 999_999)}" }, "telemetry"), valid, "unknown-device")
                    : (StreetLightFleet.TopicFor(root, lamp with { District = "d9" + r.Next(10) }, "telemetry"), valid, "identity-mismatch");
        }
    }

    private static string HostileTopic(Random r, string root, StreetLight lamp)
    {
        string Segment()
        {
            var s = new StringBuilder();
            for (var n = r.Next(0, 10); n > 0; n--)
            {
                s.Append((char)r.Next('a', 'z' + 1));
            }

            s.Insert(r.Next(s.Length + 1), Forbidden[r.Next(Forbidden.Length)]);
            return s.ToString();
        }

        var segments = new List<string> { "lighting", lamp.District, lamp.Site, "streetlight", lamp.DeviceId, "telemetry" };
        switch (r.Next(5))
        {
            case 0:
                segments[r.Next(segments.Count)] = Segment();
                break;
            case 1:
                segments.AddRange(Enumerable.Range(0, r.Next(1, 20)).Select(_ => Segment()));
                break;
            case 2:
                segments.RemoveRange(r.Next(segments.Count), 1);
                break;
            case 3:
                segments[r.Next(segments.Count)] = "";
                break;
            default:
                segments[r.Next(segments.Count - 1)] = new string('s', r.Next(65, 500));
                break;
        }

        return root + "/" + string.Join('/', segments);
    }

    private static byte[] Bytes(Random r, int length)
    {
        var bytes = new byte[length];
        r.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>Polls /healthz while the fuzz runs (one request at a time); the codes it saw.</summary>
    private sealed class HealthWatch : IDisposable
    {
        private const int MinimumPolls = 3;
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _enough = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly Task<List<HttpStatusCode>> _run;

        public HealthWatch(TestWorker worker) => _run = Task.Run(async () =>
        {
            // One poll may be slow on a loaded machine; the test is about the status codes, not the answer time.
            using var http = new HttpClient { BaseAddress = worker.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            var codes = new List<HttpStatusCode>();
            while (!_stop.IsCancellationRequested)
            {
                using (var response = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
                {
                    codes.Add(response.StatusCode);
                }

                if (codes.Count >= MinimumPolls)
                {
                    _enough.TrySetResult();
                }

                // A sampling period, not a wait for a condition: the watch runs until told to stop.
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), _stop.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return codes;
        });

        /// <summary>Stops after at least three polls: how many fit in the run depends on the machine, not on the worker.</summary>
        public async Task<List<HttpStatusCode>> StopAsync()
        {
            await Task.WhenAny(_enough.Task, _run).WaitAsync(DeviceTestKit.Timeout);
            await _stop.CancelAsync();
            return await _run;
        }

        public void Dispose() => _stop.Dispose();
    }
}

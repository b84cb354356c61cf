using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using MQTTnet.Exceptions;
using MQTTnet.Protocol;
using Microsoft.Extensions.Logging;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Diagnostics;
using SmartCity.Telemetry.Ingest;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Devices;

/// <summary>
/// Hostile input through the real mosquitto into the real InfluxDB. Tags come only from validated
/// topic segments, so hostile strings can reach the database only as string fields: dead letters'
/// topic, detail and payload excerpt, and the string fields of profiles (event details, firmware).
/// Each hostile message is stored exactly (as LineProtocol.cs documents) or rejected with its
/// reason; a good reading sent after each one is stored with exactly its values; the worker stays up.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    /// <summary>One hostile message as sent, and the reason it must be rejected with.</summary>
    private sealed record Hostile(string Topic, byte[] Payload, string Reason);

    /// <summary>
    /// Topics with segments the contract forbids (comma, space, '=', quotes, backslash, non-ASCII,
    /// too long) are rejected as InvalidTopic; nothing becomes telemetry or a tag; the dead letter
    /// keeps the topic exactly as sent (at most 256 characters, then "..."), which proves the escaping.
    /// </summary>
    [Fact]
    public async Task HostileTopics_AreRejectedInvalidTopic_AndTheDeadLetterKeepsTheTopicExactly()
    {
        await using var setup = await Setup.StartAsync();
        var (root, lamp) = (setup.Worker.TopicRoot, setup.Fleet.Lamps[0]);
        string WithDistrict(string district) => $"{root}/lighting/{district}/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry";
        var valid = StreetLightFleet.TopicFor(root, lamp, "telemetry");
        var topics = new[]
        {
            WithDistrict("d01,evil=1"),
            WithDistrict("d01 evil"),
            WithDistrict("d01=1"),
            WithDistrict("d01\"quoted\""),
            WithDistrict("d01'quoted'"),
            WithDistrict(@"d01\"),
            WithDistrict(@"d0\1"),
            WithDistrict("d01-é"),
            WithDistrict("区01"),
            WithDistrict("d01😀"),
            WithDistrict(new string('d', 65)),
            WithDistrict("d01, \"x\"=\\ é😀"),
            $"{root}/lighting/{lamp.District}/{lamp.Site}/streetlight/lamp,device_id=evil/telemetry",
            $"{root}/light ing/{lamp.District}/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry",
            $"{root}/lighting/{lamp.District}/{lamp.Site}/street\\light/{lamp.DeviceId}/telemetry",
            valid + "/" + new string('x', 300),
            valid + "/" + string.Concat(Enumerable.Repeat("é区, =\\\"", 40)), // long, non-ASCII, cut between characters
        };

        var hostile = new List<Hostile>();
        for (var i = 0; i < topics.Length; i++)
        {
            // A well-formed reading: only the topic is wrong.
            var payload = setup.Fleet.Create(100_000 + i).Payload;
            hostile.Add(new Hostile(topics[i], payload, "InvalidTopic"));
            await setup.Publisher.PublishAsync(topics[i], payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            await setup.Good.PublishNextAsync();
        }

        var s = await setup.WaitAsync(hostile.Count);
        Assert.Equal(new Dictionary<string, long> { ["InvalidTopic"] = hostile.Count }, s.RejectedByReason);
        await setup.AssertDeadLettersAsync(hostile);
        await setup.Good.AssertAllStoredExactlyAsync(setup.Db);
        // No hostile string became a tag (key or value) anywhere.
        var tagKeys = (await setup.Db.RowsAsync("SHOW TAG KEYS")).Select(r => r.Row["tagKey"].GetString()).Distinct().Order(StringComparer.Ordinal);
        Assert.Equal(["device_id", "device_type", "district", "reason", "sector", "site"], tagKeys);
        var districts = (await setup.Db.RowsAsync("SHOW TAG VALUES FROM street_light WITH KEY = district")).Select(r => r.Row["value"].GetString());
        Assert.Equal(setup.Fleet.Lamps.Select(l => l.District).Distinct().Order(StringComparer.Ordinal), districts);
        await setup.AssertHealthyAsync();
    }

    /// <summary>
    /// A topic longer than 256 characters whose 256th UTF-16 unit is the first half of an emoji (a
    /// surrogate pair): the dead letter must keep a prefix of the topic as sent, cut between
    /// characters, not half a character (which UTF-8 encoding turns into U+FFFD, a character that
    /// was never sent). Found by this test: JsonPayload.Truncate cuts UTF-16 units, not characters.
    /// </summary>
    [Fact]
    public async Task LongTopicCutInsideAnEmoji_DeadLetterKeepsAPrefixOfTheTopicAsSent()
    {
        await using var setup = await Setup.StartAsync();
        var lamp = setup.Fleet.Lamps[0];
        var topic = StreetLightFleet.TopicFor(setup.Worker.TopicRoot, lamp, "telemetry") + "/";
        topic = topic + new string('a', DeadLetters.MaxTopicChars - 1 - topic.Length) + "😀 and more after the cut";
        Assert.True(char.IsHighSurrogate(topic[DeadLetters.MaxTopicChars - 1]));

        var payload = setup.Fleet.Create(100_000).Payload;
        await setup.Publisher.PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        await setup.Good.PublishNextAsync();

        await setup.WaitAsync(deadLetters: 1);
        await setup.Good.AssertAllStoredExactlyAsync(setup.Db);
        await setup.AssertHealthyAsync();
        await setup.AssertDeadLettersAsync([new Hostile(topic, payload, "InvalidTopic")]);
        // The operator API lists the same cut (it answers; its JSON shows the half character as U+FFFD today).
        var listed = Assert.Single((await DeviceTestKit.GetJsonAsync(setup.Worker, "/api/rejections")).EnumerateArray());
        Assert.Equal(ExpectedTopic(topic), listed.GetProperty("topic").GetString());
    }

    /// <summary>
    /// Topics MQTT itself forbids never reach the worker: the client library refuses wildcards in a
    /// topic name, and mosquitto refuses control characters (it drops the connection). The worker
    /// receives nothing from them and keeps storing the good readings around them.
    /// </summary>
    [Fact]
    public async Task TopicsMqttForbids_WildcardsAndControlCharacters_NeverReachTheWorker()
    {
        await using var setup = await Setup.StartAsync();
        var (root, lamp) = (setup.Worker.TopicRoot, setup.Fleet.Lamps[0]);
        var payload = setup.Fleet.Create(100_000).Payload;

        foreach (var district in new[] { "d+1", "d#1", "+", "#" })
        {
            var topic = $"{root}/lighting/{district}/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry";
            await Assert.ThrowsAsync<MqttProtocolViolationException>(() => setup.Publisher.PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None));
            Assert.True(setup.Publisher.IsConnected);
            await setup.Good.PublishNextAsync();
        }

        foreach (var district in new[] { "d01\nevil", "d01\revil", "d01\tevil", "d01\u0000evil", "d01\u007fevil" })
        {
            var topic = $"{root}/lighting/{district}/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry";
            await using var device = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("ctl-"), CancellationToken.None);
            await Assert.ThrowsAnyAsync<Exception>(() => device.PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None));
            Assert.False(device.IsConnected, $"the broker kept a client that published on {JsonSerializer.Serialize(topic)}");
            await setup.Good.PublishNextAsync();
        }

        var s = await setup.WaitAsync(deadLetters: 0);
        Assert.Equal(setup.Births + setup.Good.Count, s.Received);
        Assert.Equal(0, s.Rejected);
        await setup.Good.AssertAllStoredExactlyAsync(setup.Db);
        await setup.AssertHealthyAsync();
    }

    /// <summary>
    /// Payload excerpts of dead letters with quotes, backslashes (one at the very end), newlines,
    /// commas, '=', control characters, non-ASCII, invalid UTF-8, a character cut by the 256-byte
    /// limit, and a line-protocol injection attempt: each read back from InfluxDB exactly as
    /// documented; the injection adds no point.
    /// </summary>
    [Fact]
    public async Task DeadLetterExcerptsAndDetails_WithEveryEscapeHazard_AreStoredExactly()
    {
        await using var setup = await Setup.StartAsync();
        var lamp = setup.Fleet.Lamps[1];
        var topic = StreetLightFleet.TopicFor(setup.Worker.TopicRoot, lamp, "telemetry");
        var ts = DeviceTestKit.Ts(DateTimeOffset.UtcNow.AddMinutes(-3));
        var cases = new (byte[] Payload, string Reason)[]
        {
            (Utf8("line1\nline2\r\n\t\"quoted\" back\\slash, comma = equals é ß 区 😀 \f end"), "MalformedJson"),
            (Utf8("{\"v\":1,\"note\":\"ends with a backslash \\"), "MalformedJson"),
            (Utf8("x\" ,evil=1 1\nstreet_light,device_id=evil,device_type=streetlight,district=d01,sector=lighting,site=s power_w=9999 1\n"), "MalformedJson"),
            (Utf8("NUL\u0000 BEL\u0007 ESC\u001b DEL\u007f NEL\u0085 LS\u2028 BOM\uFEFF"), "MalformedJson"),
            (Utf8(new string('a', 255) + "é and beyond the excerpt"), "MalformedJson"),
            ([0x7B, 0xC3, 0x28, 0xFF, 0xFE, 0x22, 0x5C, 0x0A, 0xE2, 0x82], "MalformedJson"),
            (Utf8($$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":"9\"9, x=1\n\\ é"}"""), "WrongType"),
            (Utf8($$"""{"v":1,"ts":"{{ts}}\n\"evil\"=1","on":true,"dim_pct":50,"power_w":9}"""), "InvalidTimestamp"),
            (Utf8($$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":9,"faults":["lamp_failure","x\" ,y=1\n😀"]}"""), "OutOfRange"),
        };

        var hostile = new List<Hostile>();
        foreach (var (payload, reason) in cases)
        {
            hostile.Add(new Hostile(topic, payload, reason));
            await setup.Publisher.PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            await setup.Good.PublishNextAsync();
        }

        var s = await setup.WaitAsync(hostile.Count);
        Assert.Equal(hostile.Count, s.Rejected);
        await setup.AssertDeadLettersAsync(hostile);
        await setup.Good.AssertAllStoredExactlyAsync(setup.Db);
        Assert.Equal(0, await setup.Db.CountAsync("SELECT count(power_w) FROM street_light WHERE device_id = 'evil'"));
        await setup.AssertHealthyAsync();
    }

    /// <summary>
    /// Free text that a profile stores as a string field (an event's <c>detail</c>, a birth's
    /// <c>firmware</c>) with quotes, backslashes, commas, spaces, '=', newlines, tabs, control
    /// characters and non-ASCII: stored exactly as documented, the next point intact; a hostile
    /// enum value is rejected with a detail that is itself stored exactly.
    /// </summary>
    [Fact]
    public async Task StringFields_EventDetailAndFirmware_WithEveryEscapeHazard_AreStoredExactly()
    {
        await using var setup = await Setup.StartAsync();
        var root = setup.Worker.TopicRoot;
        var door = $"{root}/security/d03/d03-bldg-01/door_contact/door-0001";
        const string Firmware = "fw \"2.4\",\n a=b\\c é 😀 \\";
        var born = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-4));
        await setup.Publisher.PublishTextAsync(door + "/status", DeviceTestKit.Birth("door_contact", born, "d03", "d03-bldg-01", Firmware), retain: true);
        await setup.Good.PublishNextAsync();

        var details = new[]
        {
            "forced at door \"B-12\", badge=none, by \\\\server\\share\nsecond line\r\n\ttabbed é ß 区 😀 \\",
            "\\",
            "\"",
            "\\\"",
            "ends with a backslash \\",
            "\\n is a backslash and an n, not a newline",
            "a=b,c d e=f,g",
            " ",
            "",
            "NUL\u0000 BEL\u0007 ESC\u001b DEL\u007f NEL\u0085 LS\u2028 BOM\uFEFF",
            "x\" ,evil=1 1\nsecurity_event,device_id=evil event=\"forced\" 1",
            new string('é', 256),
        };
        var t0 = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddMinutes(-2));
        for (var i = 0; i < details.Length; i++)
        {
            var ts = DeviceTestKit.Ts(t0.AddSeconds(i));
            await setup.Publisher.PublishTextAsync(door + "/event", $$"""{"v":1,"ts":"{{ts}}","event":"forced","detail":{{DeviceTestKit.JsonString(details[i])}}}""");
            await setup.Good.PublishNextAsync();
        }

        // A hostile enum value: rejected, and its detail (which quotes the value) stored exactly.
        var badEvent = Utf8($$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0)}}","event":{{DeviceTestKit.JsonString("forced\" ,x=1\n\\ 😀")}}}""");
        await setup.Publisher.PublishAsync(door + "/event", badEvent, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        await setup.Good.PublishNextAsync();
        var tooLong = Utf8($$"""{"v":1,"ts":"{{DeviceTestKit.Ts(t0)}}","event":"forced","detail":"{{new string('x', 257)}}"}""");
        await setup.Publisher.PublishAsync(door + "/event", tooLong, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
        await setup.Good.PublishNextAsync();

        var s = await setup.WaitAsync(deadLetters: 2, extraPoints: 1 + details.Length);
        Assert.Equal(new Dictionary<string, long> { ["OutOfRange"] = 2 }, s.RejectedByReason);

        var events = await setup.Db.RowsAsync("SELECT event, detail FROM security_event GROUP BY *");
        Assert.Equal(details.Length, events.Count);
        for (var i = 0; i < details.Length; i++)
        {
            Assert.Equal(t0.AddSeconds(i).ToUnixTimeMilliseconds(), events[i].Row["time"].GetInt64());
            Assert.Equal("forced", events[i].Row["event"].GetString());
            Assert.Equal(DeviceTestKit.Stored(details[i]), events[i].Row["detail"].GetString());
            Assert.Equal("door-0001", events[i].Tags["device_id"]);
        }

        var (_, status) = Assert.Single(await setup.Db.RowsAsync("SELECT firmware, profile FROM device_status WHERE device_id = 'door-0001'"));
        Assert.Equal(DeviceTestKit.Stored(Firmware), status["firmware"].GetString());
        var device = await DeviceTestKit.GetJsonAsync(setup.Worker, "/api/devices/door-0001");
        Assert.Equal(Firmware, device.GetProperty("firmware").GetString());

        await setup.AssertDeadLettersAsync([new Hostile(door + "/event", badEvent, "OutOfRange"), new Hostile(door + "/event", tooLong, "OutOfRange")]);
        await setup.Good.AssertAllStoredExactlyAsync(setup.Db);
        await setup.AssertHealthyAsync();
    }

    /// <summary>
    /// Deeply nested JSON, a 10 MB payload, NaN/Infinity literals, numbers beyond double's range, a
    /// 400-digit integer, invalid UTF-8 and non-objects: each rejected with its reason and counted,
    /// a good reading after each one stored exactly, the worker healthy and connected throughout.
    /// </summary>
    [Fact]
    public async Task HostilePayloads_AreRejectedWithTheirReason_NeighboursIntact_WorkerStaysUp()
    {
        await using var setup = await Setup.StartAsync();
        var lamp = setup.Fleet.Lamps[2];
        var topic = StreetLightFleet.TopicFor(setup.Worker.TopicRoot, lamp, "telemetry");
        var ts = DeviceTestKit.Ts(DateTimeOffset.UtcNow.AddMinutes(-3));
        string Reading(string power, string seq = "1") => $$"""{"v":1,"ts":"{{ts}}","seq":{{seq}},"on":true,"dim_pct":50,"power_w":{{power}}}""";
        var digits400 = "9" + string.Concat(Enumerable.Repeat("1234567890", 40))[1..];
        const int TenMegabytes = 10 * 1024 * 1024;
        var envelope = $$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":20,"pad":""" + "\"";
        var huge = new byte[TenMegabytes];
        Encoding.UTF8.GetBytes(envelope).CopyTo(huge, 0);
        huge.AsSpan(envelope.Length, TenMegabytes - envelope.Length - 2).Fill((byte)'x');
        "\"}"u8.CopyTo(huge.AsSpan(TenMegabytes - 2));

        var cases = new (byte[] Payload, string Reason)[]
        {
            (Utf8(string.Concat(Enumerable.Repeat("{\"a\":", 10_000)) + "1" + new string('}', 10_000)), "MalformedJson"),
            (Utf8(Reading("20").TrimEnd('}') + ",\"x\":" + new string('[', 10_000) + new string(']', 10_000) + "}"), "MalformedJson"),
            (huge, "PayloadTooLarge"),
            (Utf8(Reading("NaN")), "MalformedJson"),
            (Utf8(Reading("Infinity")), "MalformedJson"),
            (Utf8(Reading("-Infinity")), "MalformedJson"),
            (Utf8(Reading("1e999")), "OutOfRange"),
            (Utf8(Reading("-1e999")), "OutOfRange"),
            (Utf8(Reading("1e309")), "OutOfRange"), // 1e308 x 10: beyond double
            (Utf8(Reading("1.8e308")), "OutOfRange"),
            (Utf8(Reading("20", seq: digits400)), "OutOfRange"),
            (Utf8(Reading("20", seq: "-" + digits400)), "OutOfRange"),
            (Utf8(Reading("20", seq: "9223372036854775808")), "OutOfRange"),
            (Utf8(Reading("20", seq: "1e400")), "OutOfRange"),
            (Utf8(Reading("\"NaN\"")), "WrongType"),
            (Utf8(Reading("20", seq: "7.5")), "WrongType"),
            ([0xC3, 0x28, 0xA0, 0xA1, 0xFF], "MalformedJson"),
            ([], "MalformedJson"),
            (Utf8("null"), "MalformedJson"),
            (Utf8("[1,2,3]"), "MalformedJson"),
            (Utf8("\"a string\""), "MalformedJson"),
        };

        var hostile = new List<Hostile>();
        foreach (var (payload, reason) in cases)
        {
            hostile.Add(new Hostile(topic, payload, reason));
            await setup.Publisher.PublishAsync(topic, payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            await setup.Good.PublishNextAsync();
            Assert.Equal(HttpStatusCode.OK, await DeviceTestKit.GetStatusAsync(setup.Worker, "/healthz"));
        }

        var s = await setup.WaitAsync(hostile.Count);
        var expected = hostile.GroupBy(h => h.Reason).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), s.RejectedByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        await setup.AssertDeadLettersAsync(hostile);
        var tooLarge = setup.Worker.DeadLetters.Recent().Single(r => r.Reason == "PayloadTooLarge");
        Assert.Contains(TenMegabytes.ToString(CultureInfo.InvariantCulture), tooLarge.Detail, StringComparison.Ordinal);
        await setup.Good.AssertAllStoredExactlyAsync(setup.Db);
        await setup.AssertHealthyAsync();
    }

    /// <summary>
    /// 10,000 bad messages of eleven kinds interleaved with 10,000 good readings from 200 lamps,
    /// published by 20 concurrent tasks: every good reading stored with its exact values, every bad
    /// one counted by its reason and stored as a dead letter.
    /// </summary>
    [Fact]
    public async Task TenThousandBadInterleavedWithTenThousandGood_AllGoodStored_EveryBadCountedAndDeadLettered()
    {
        const int Good = 10_000;
        const int Bad = 10_000;
        const int Publishers = 20;
        await using var setup = await Setup.StartAsync(lamps: 200, interval: TimeSpan.FromSeconds(30));
        var (root, fleet) = (setup.Worker.TopicRoot, setup.Fleet);
        var lamp = fleet.Lamps[0];
        var ts = DeviceTestKit.Ts(DateTimeOffset.UtcNow.AddMinutes(-3));
        var valid = Utf8($$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":20}""");
        var telemetry = StreetLightFleet.TopicFor(root, lamp, "telemetry");
        var kinds = new Hostile[]
        {
            new($"{root}/lighting/d01,evil=1/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry", valid, "InvalidTopic"),
            new($"{root}/lighting/{lamp.District}/{lamp.Site}/toaster/t-1/telemetry", valid, "UnknownDeviceType"),
            new(telemetry, Utf8($$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":NaN}"""), "MalformedJson"),
            new(telemetry, Utf8(new string('[', 100) + new string(']', 100)), "MalformedJson"),
            new(telemetry, Utf8($$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":1e999}"""), "OutOfRange"),
            new(telemetry, Utf8($$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":"9\"9, x=1\n\\ é"}"""), "WrongType"),
            new(telemetry, Utf8($$"""{"v":1,"ts":"{{ts}}","on":true,"dim_pct":50}"""), "MissingField"),
            new(telemetry, Utf8("""{"v":1,"ts":"2026-11-28T21:59:30","on":true,"dim_pct":50,"power_w":20}"""), "InvalidTimestamp"),
            new(telemetry, Utf8($$"""{"v":2,"ts":"{{ts}}","on":true,"dim_pct":50,"power_w":20}"""), "UnsupportedVersion"),
            new($"{root}/lighting/{lamp.District}/{lamp.Site}/streetlight/lamp-999999/telemetry", valid, "UnknownDevice"),
            new($"{root}/lighting/d99/{lamp.Site}/streetlight/{lamp.DeviceId}/telemetry", valid, "IdentityMismatch"),
        };

        var clock = Stopwatch.StartNew();
        long next = -1;
        await Task.WhenAll(Enumerable.Range(0, Publishers).Select(_ => Task.Run(async () =>
        {
            long i;
            while ((i = Interlocked.Increment(ref next)) < Good + Bad)
            {
                if (i % 2 == 0)
                {
                    await setup.Good.PublishAsync(i / 2);
                }
                else
                {
                    var b = kinds[i / 2 % kinds.Length];
                    await setup.Publisher.PublishAsync(b.Topic, b.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
                }
            }
        })));
        var published = clock.Elapsed;

        var s = await setup.WaitAsync(Bad);
        output.WriteLine($"FIGURES 10k bad + 10k good: published in {published.TotalSeconds:F1} s, stored in {clock.Elapsed.TotalSeconds:F1} s; points={s.PointsWritten} dead_letters={s.DeadLettersWritten}");
        Assert.Equal(Good, setup.Good.Count);
        Assert.Equal(setup.Births + Good, s.PointsWritten);
        Assert.Equal(Bad, s.Rejected);
        Assert.Equal(Bad, s.DeadLettersWritten);
        var expected = Enumerable.Range(0, Bad).GroupBy(j => kinds[j % kinds.Length].Reason).ToDictionary(g => g.Key, g => (long)g.Count());
        Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), s.RejectedByReason.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        Assert.Equal(Bad, await setup.Db.CountAsync("SELECT count(payload_bytes) FROM dead_letter"));
        var stored = (await setup.Db.RowsAsync("SELECT count(payload_bytes) FROM dead_letter GROUP BY reason")).ToDictionary(r => r.Tags["reason"], r => r.Row["count"].GetInt64());
        Assert.Equal(expected.OrderBy(kv => kv.Key, StringComparer.Ordinal), stored.OrderBy(kv => kv.Key, StringComparer.Ordinal));
        await setup.Good.AssertAllStoredExactlyAsync(setup.Db);
        await setup.AssertHealthyAsync();
    }

    private static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    /// <summary>The dead letter's topic: the topic as sent, cut at 256 characters (never inside a character) with "..." after the cut.</summary>
    private static string ExpectedTopic(string sent)
    {
        if (sent.Length <= DeadLetters.MaxTopicChars)
        {
            return DeviceTestKit.Stored(sent);
        }

        var cut = char.IsHighSurrogate(sent[DeadLetters.MaxTopicChars - 1]) ? DeadLetters.MaxTopicChars - 1 : DeadLetters.MaxTopicChars;
        return DeviceTestKit.Stored(sent[..cut]) + "...";
    }

    /// <summary>The dead letter's excerpt: the first 256 bytes as UTF-8, invalid sequences (or a character cut by the limit) as U+FFFD.</summary>
    private static string ExpectedExcerpt(byte[] payload) =>
        DeviceTestKit.Stored(Encoding.UTF8.GetString(payload, 0, Math.Min(payload.Length, DeadLetters.ExcerptBytes)));

    /// <summary>A worker, a database, a fleet of announced lamps and a publisher: what every hostile test starts from.</summary>
    private sealed class Setup : IAsyncDisposable
    {
        private Setup(InfluxTestDatabase db, TestWorker worker, MqttPublisher publisher, StreetLightFleet fleet)
        {
            Db = db;
            Worker = worker;
            Publisher = publisher;
            Fleet = fleet;
            Good = new GoodReadings(fleet, publisher);
        }

        public InfluxTestDatabase Db { get; }

        public TestWorker Worker { get; }

        public MqttPublisher Publisher { get; }

        public StreetLightFleet Fleet { get; }

        public GoodReadings Good { get; }

        public int Births => Fleet.Lamps.Count;

        /// <summary>Births of a few lamps or of a large fleet, announced before the test starts; the door's birth counts as one more point.</summary>
        public static async Task<Setup> StartAsync(int lamps = 4, TimeSpan? interval = null)
        {
            var db = await InfluxTestDatabase.CreateAsync();
            var worker = await TestWorker.StartAsync(db);
            var publisher = await MqttPublisher.ConnectAsync(TestWorker.Broker, TestServers.UniqueName("hostile-"), CancellationToken.None);
            var start = DeviceTestKit.WholeMilliseconds(DateTimeOffset.UtcNow.AddHours(-2));
            var fleet = new StreetLightFleet(lamps, 2, worker.TopicRoot, seed: 7, start, interval ?? TimeSpan.FromSeconds(10));
            await LightingSimulation.AnnounceAsync(fleet, publisher, MqttQualityOfServiceLevel.AtLeastOnce, CancellationToken.None);
            await worker.Metrics.WaitUntilAsync(s => s.PointsWritten >= lamps, DeviceTestKit.Timeout);
            return new Setup(db, worker, publisher, fleet);
        }

        /// <summary>Until the births, every good reading, <paramref name="extraPoints"/> and <paramref name="deadLetters"/> are in InfluxDB.</summary>
        public Task<PipelineSnapshot> WaitAsync(long deadLetters, long extraPoints = 0) =>
            DeviceTestKit.WaitStoredAsync(Worker, Births + Good.Count + extraPoints, deadLetters);

        /// <summary>
        /// The dead letters in InfluxDB, in order of receipt, are exactly the hostile messages as sent:
        /// reason, topic, size, excerpt, and the worker's own detail, each stored as documented.
        /// </summary>
        public async Task AssertDeadLettersAsync(IReadOnlyList<Hostile> hostile)
        {
            var rows = await Db.RowsAsync("SELECT topic, detail, payload_bytes, payload_excerpt, reason FROM dead_letter");
            Assert.Equal(hostile.Count, rows.Count);
            var recent = Worker.DeadLetters.Recent().Reverse().ToList();
            Assert.Equal(hostile.Count, recent.Count);
            for (var i = 0; i < hostile.Count; i++)
            {
                var (h, row, rejection) = (hostile[i], rows[i].Row, recent[i]);
                var at = $"dead letter {i} ({h.Reason}, topic {JsonSerializer.Serialize(h.Topic.Length > 80 ? h.Topic[..80] : h.Topic)})";
                Assert.True(h.Reason == row["reason"].GetString(), $"{at}: stored reason {row["reason"]}, detail {row["detail"]}");
                Assert.Equal(h.Reason, rejection.Reason);
                Assert.True(ExpectedTopic(h.Topic) == row["topic"].GetString(), $"{at}: stored topic {JsonSerializer.Serialize(row["topic"].GetString())}");
                Assert.Equal(h.Payload.Length, row["payload_bytes"].GetInt64());
                Assert.True(ExpectedExcerpt(h.Payload) == row["payload_excerpt"].GetString(), $"{at}: stored excerpt {JsonSerializer.Serialize(row["payload_excerpt"].GetString())}");
                Assert.True(DeviceTestKit.Stored(rejection.Detail) == row["detail"].GetString(), $"{at}: stored detail {JsonSerializer.Serialize(row["detail"].GetString())}, worker's {JsonSerializer.Serialize(rejection.Detail)}");
            }
        }

        /// <summary>/healthz answers 200, the worker is connected, it never reconnected, and nothing was logged as an error.</summary>
        public async Task AssertHealthyAsync()
        {
            Assert.Equal(HttpStatusCode.OK, await DeviceTestKit.GetStatusAsync(Worker, "/healthz"));
            var s = Worker.Metrics.Snapshot();
            Assert.True(s.SourceConnected, "the worker must still be connected after hostile input");
            Assert.Equal(0, s.Reconnects);
            Assert.False(s.SinkBlocked, s.SinkBlockedReason);
            Assert.Equal(0, s.LinesDroppedByDatabase);
            Assert.Empty(Worker.Logs.AtLeast(LogLevel.Error));
        }

        public async ValueTask DisposeAsync()
        {
            await Publisher.DisposeAsync();
            await Worker.DisposeAsync();
            await Db.DisposeAsync();
        }
    }

    /// <summary>Good street-light readings sent between hostile messages, and the check that each is stored with exactly its values.</summary>
    private sealed class GoodReadings(StreetLightFleet fleet, MqttPublisher publisher)
    {
        private static readonly string[] Numbers = ["dim_pct", "power_w", "energy_kwh", "voltage_v", "current_a", "power_factor", "burning_hours"];
        private readonly ConcurrentDictionary<(string DeviceId, long Ms), SimulatedMessage> _sent = new();
        private long _next = -1;

        public int Count => _sent.Count;

        public Task PublishNextAsync() => PublishAsync(Interlocked.Increment(ref _next));

        public async Task PublishAsync(long k)
        {
            var m = fleet.Create(k);
            await publisher.PublishAsync(m.Topic, m.Payload, MqttQualityOfServiceLevel.AtLeastOnce, false, CancellationToken.None);
            Assert.True(_sent.TryAdd((m.DeviceId, m.Timestamp.ToUnixTimeMilliseconds()), m), $"reading {k} sent twice");
        }

        public async Task AssertAllStoredExactlyAsync(InfluxTestDatabase db)
        {
            var rows = await db.RowsAsync($"SELECT \"on\", seq, {string.Join(", ", Numbers)}, fault_lamp_failure FROM street_light GROUP BY *");
            Assert.Equal(_sent.Count, rows.Count);
            var lamps = fleet.Lamps.ToDictionary(l => l.DeviceId);
            foreach (var (tags, row) in rows)
            {
                var key = (tags["device_id"], row["time"].GetInt64());
                Assert.True(_sent.TryGetValue(key, out var m), $"stored point {key} was never published");
                var lamp = lamps[m.DeviceId];
                Assert.Equal((lamp.District, lamp.Site, "lighting", "streetlight"), (tags["district"], tags["site"], tags["sector"], tags["device_type"]));
                var sent = JsonDocument.Parse(m.Payload).RootElement;
                Assert.Equal(sent.GetProperty("on").GetBoolean(), row["on"].GetBoolean());
                Assert.Equal(sent.GetProperty("seq").GetInt64(), row["seq"].GetInt64());
                Assert.False(row["fault_lamp_failure"].GetBoolean());
                foreach (var field in Numbers)
                {
                    Assert.True(sent.GetProperty(field).GetDouble() == row[field].GetDouble(), $"{key} {field}: sent {sent.GetProperty(field)}, stored {row[field]}");
                }
            }
        }
    }
}

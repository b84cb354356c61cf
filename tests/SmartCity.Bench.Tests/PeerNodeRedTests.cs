using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using SmartCity.Bench.Infrastructure;
using SmartCity.Bench.Phases;
using SmartCity.Simulators.Lighting;
using SmartCity.Simulators.Publishing;
using SmartCity.Telemetry.Devices;
using SmartCity.Telemetry.Ingest;

namespace SmartCity.Bench.Tests;

/// <summary>
/// The peer-nodered phase's flow (bench/SmartCity.Bench/PeerNodeRed.cs) without Node-RED itself (no npm in
/// tests): its nodes and wires, its function nodes run by Node.js exactly as written into flows.json, the
/// line they make compared with the worker's own line for the same message, and the summary's PEER and
/// TARGETS lines from a constructed report.
/// </summary>
public sealed class PeerNodeRedTests
{
    private const string Topic = "city/lighting/d01/d01-street-001/streetlight/sl-000001/telemetry";

    // Runs a function node's body the way Node-RED does (a function of msg, node, flow, ...; the returned
    // msg goes on, null stops), with one flow context shared by all calls. Writes results as JSON.
    private const string Harness = """
        const fs = require("fs");
        const input = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
        const store = input.flow || {};
        const flow = { get: k => store[k], set: (k, v) => { store[k] = v; } };
        const warnings = [];
        const node = { warn: w => warnings.push(String(w)), error: e => warnings.push(String(e)), log: () => {} };
        const run = new Function("msg", "node", "flow", "context", "global", "env", input.func);
        const results = input.messages.map(m => { const r = run(m, node, flow, null, null, null); return r === null || r === undefined ? null : r; });
        process.stdout.write(JSON.stringify({ results, flow: store, warnings }));
        """;

    [Fact]
    public async Task LineFunction_BenchFleetMessagesDayAndNight_WritesTheWorkersLineForEachMessage()
    {
        // The publisher's load-mode fleet (one reading a minute) and the same fleet read hourly over two
        // days, so lamps on (dimmed 50 % and 100 %) and off are all there.
        var now = DateTimeOffset.UtcNow;
        var messages = new List<SimulatedMessage>();
        foreach (var interval in new TimeSpan?[] { null, TimeSpan.FromHours(1) })
        {
            var fleet = LightingSimulation.CreateFleet(
                new LightingSimulationOptions { Broker = new BrokerEndpoint("127.0.0.1", 1), Lamps = 24, Districts = 4, Messages = 24 * 48, Rate = 0, Start = now.AddDays(-2.5), Interval = interval },
                now);
            messages.AddRange(Enumerable.Range(0, 24 * 48).Select(k => fleet.Create(k)));
        }

        var expected = messages.Select(m => WorkerLine(m.Topic, m.Payload, now)).ToList();
        Assert.Contains(expected, l => l.Contains(" on=true,dim_pct=50,", StringComparison.Ordinal));
        Assert.Contains(expected, l => l.Contains(" on=true,dim_pct=100,", StringComparison.Ordinal));
        Assert.Contains(expected, l => l.Contains(" on=false,dim_pct=0,", StringComparison.Ordinal));

        var run = await RunFunctionAsync(PeerNodeRed.LineFunction, messages.Select(m => Message(m.Topic, m.Payload)));

        var actual = run.Results.Select(r => r?["payload"]?.GetValue<string>()).ToList();
        Assert.Equal(expected.Count, actual.Count);
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.True(expected[i] == actual[i], $"message {i} ({messages[i].Topic}):\nworker:  {expected[i]}\nnode-red: {actual[i]}");
        }
    }

    [Theory]
    // Every optional field, fault flags set, the device's photocell.
    [InlineData("""{"v":1,"ts":"TS","seq":7,"on":true,"dim_pct":42.5,"power_w":31.07,"energy_kwh":1234.5678,"voltage_v":229.9,"current_a":0.135,"power_factor":0.95,"burning_hours":10000.5,"photocell_on":true,"faults":["under_voltage","lamp_failure"]}""")]
    // Only the required fields.
    [InlineData("""{"v":1,"ts":"TS","on":false,"dim_pct":0,"power_w":0}""")]
    // Numbers .NET writes in exponent form (below 1E-04) and long fractions.
    [InlineData("""{"v":1,"ts":"TS","on":true,"dim_pct":0.0001,"power_w":1.5e-05,"energy_kwh":0.30000000000000004,"current_a":1e-7,"power_factor":5e-324,"voltage_v":229.99999999999997}""")]
    // Unix milliseconds as ts, and an RFC 3339 time with an offset.
    [InlineData("""{"v":1,"ts":MS,"on":true,"dim_pct":100,"power_w":60}""")]
    [InlineData("""{"v":1,"ts":"OFFSET","on":true,"dim_pct":100,"power_w":60}""")]
    public async Task LineFunction_ProfileEdgeCases_WritesTheWorkersLine(string template)
    {
        var now = DateTimeOffset.UtcNow;
        var ts = now.AddHours(-1);
        var payload = template
            .Replace("\"TS\"", $"\"{ts:yyyy-MM-ddTHH:mm:ss.fffZ}\"", StringComparison.Ordinal)
            .Replace("MS", ts.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("\"OFFSET\"", $"\"{ts.ToOffset(TimeSpan.FromHours(1)):yyyy-MM-ddTHH:mm:ss.fff}+01:00\"", StringComparison.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(payload);

        var run = await RunFunctionAsync(PeerNodeRed.LineFunction, [Message(Topic, bytes)]);

        Assert.Equal(WorkerLine(Topic, bytes, now), run.Results.Single()?["payload"]?.GetValue<string>());
    }

    [Fact]
    public async Task LineFunction_BirthAndEventMessages_AreDroppedLikeAnyNonTelemetry()
    {
        var status = System.Text.Encoding.UTF8.GetBytes("""{"v":1,"ts":"2026-12-07T10:00:00.000Z","online":true}""");

        var run = await RunFunctionAsync(PeerNodeRed.LineFunction, [Message(Topic.Replace("/telemetry", "/status", StringComparison.Ordinal), status), Message(Topic.Replace("/telemetry", "/event", StringComparison.Ordinal), status)]);

        Assert.All(run.Results, r => Assert.Null(r));
    }

    [Fact]
    public async Task BodyAndCountFunctions_BatchWrittenOrFailed_CountLinesAsStoredOrFailed()
    {
        var body = await RunFunctionAsync(PeerNodeRed.BodyFunction, [new JsonObject { ["payload"] = new JsonArray("a 1", "b 2", "c 3") }]);
        var written = body.Results.Single()!;
        Assert.Equal("a 1\nb 2\nc 3", written["payload"]!.GetValue<string>());
        Assert.Equal(3, written["lines"]!.GetValue<int>());

        // InfluxDB's 204, then a write refused (400) and one that never got an answer (the error code as status).
        var count = await RunFunctionAsync(PeerNodeRed.CountFunction,
        [
            new JsonObject { ["lines"] = 3, ["statusCode"] = 204, ["payload"] = "{}" },
            new JsonObject { ["lines"] = 5, ["statusCode"] = 400, ["payload"] = "partial write" },
            new JsonObject { ["lines"] = 2, ["statusCode"] = "ECONNRESET", ["payload"] = "Error" },
        ]);

        Assert.All(count.Results, r => Assert.Null(r));
        Assert.Equal(3, count.Flow["stored"]!.GetValue<long>());
        Assert.Equal(7, count.Flow["failed"]!.GetValue<long>());
        Assert.Equal(3, count.Flow["batches"]!.GetValue<long>());
        Assert.Equal(2, count.Warnings.Count);

        // What the counters endpoint answers from that flow context, and before any write.
        var counters = await RunFunctionAsync(PeerNodeRed.CountersFunction, [new JsonObject()], count.Flow);
        Assert.Equal(new PeerNodeRed.Counters(3, 7, 3), PeerNodeRed.ParseCounters(counters.Results.Single()!["payload"]!.ToJsonString()));
        var none = await RunFunctionAsync(PeerNodeRed.CountersFunction, [new JsonObject()]);
        Assert.Equal(new PeerNodeRed.Counters(0, 0, 0), PeerNodeRed.ParseCounters(none.Results.Single()!["payload"]!.ToJsonString()));
    }

    [Fact]
    public void Flow_Written_WiresMqttInToLineJoinBodyWriteCountAndCountersEndpoint()
    {
        var options = new PeerNodeRed.FlowOptions("127.0.0.1", 18215, "bench-nodered-x", "city/#", "http://127.0.0.1:19421/write?db=bench_1");

        var nodes = JsonNode.Parse(PeerNodeRed.Flow(options))!.AsArray().Select(n => n!.AsObject()).ToDictionary(n => n["id"]!.GetValue<string>());

        var tab = Assert.Single(nodes.Values, n => S(n, "type") == "tab");
        var input = Assert.Single(nodes.Values, n => S(n, "type") == "mqtt in");
        Assert.Equal(("city/#", "1", "json"), (S(input, "topic"), S(input, "qos"), S(input, "datatype")));
        var broker = nodes[S(input, "broker")];
        Assert.Equal(("mqtt-broker", "127.0.0.1", "18215", "bench-nodered-x"), (S(broker, "type"), S(broker, "broker"), S(broker, "port"), S(broker, "clientid")));

        var line = Next(input);
        Assert.Equal(("function", PeerNodeRed.LineFunction), (S(line, "type"), S(line, "func")));
        var join = Next(line);
        Assert.Equal(("join", "custom", "array", "5000", "0.1"), (S(join, "type"), S(join, "mode"), S(join, "build"), S(join, "count"), S(join, "timeout")));
        var body = Next(join);
        Assert.Equal(("function", PeerNodeRed.BodyFunction), (S(body, "type"), S(body, "func")));
        var write = Next(body);
        Assert.Equal(("http request", "POST", options.WriteUrl, "txt"), (S(write, "type"), S(write, "method"), S(write, "url"), S(write, "ret")));
        Assert.True(write["persist"]!.GetValue<bool>(), "keep-alive, as the worker's HttpClient");
        var count = Next(write);
        Assert.Equal(("function", PeerNodeRed.CountFunction), (S(count, "type"), S(count, "func")));
        Assert.Empty(count["wires"]![0]!.AsArray());

        var endpoint = Assert.Single(nodes.Values, n => S(n, "type") == "http in");
        Assert.Equal((PeerNodeRed.CountersPath, "get"), (S(endpoint, "url"), S(endpoint, "method")));
        var counters = Next(endpoint);
        Assert.Equal(PeerNodeRed.CountersFunction, S(counters, "func"));
        Assert.Equal("http response", S(Next(counters), "type"));

        // Every flow node is on the tab, every wire ends at a node of the flow.
        Assert.All(nodes.Values.Where(n => S(n, "type") is not ("tab" or "mqtt-broker")), n => Assert.Equal(S(tab, "id"), S(n, "z")));
        Assert.All(nodes.Values.Where(n => n["wires"] is not null).SelectMany(n => n["wires"]!.AsArray().SelectMany(o => o!.AsArray())), w => Assert.True(nodes.ContainsKey(w!.GetValue<string>()), $"wire to {w}"));

        JsonObject Next(JsonObject node) => nodes[Assert.Single(Assert.Single(node["wires"]!.AsArray())!.AsArray())!.GetValue<string>()];
    }

    [Fact]
    public void CredentialsAndSettings_BrokerAccount_GoToTheBrokerNodeAndNoEditorIsServed()
    {
        var flow = JsonNode.Parse(PeerNodeRed.Flow(new PeerNodeRed.FlowOptions("h", 1, "c", "city/#", "http://x/write?db=d")))!.AsArray();
        var brokerId = flow.Single(n => S(n!.AsObject(), "type") == "mqtt-broker")!["id"]!.GetValue<string>();

        var credentials = JsonNode.Parse(PeerNodeRed.Credentials("harness", "secret")!)!.AsObject();

        Assert.Equal(brokerId, Assert.Single(credentials).Key);
        Assert.Equal(("harness", "secret"), (credentials[brokerId]!["user"]!.GetValue<string>(), credentials[brokerId]!["password"]!.GetValue<string>()));
        Assert.Null(PeerNodeRed.Credentials(null, null));
        var settings = PeerNodeRed.Settings("/tmp/u", 4242);
        Assert.Contains("httpAdminRoot: false,", settings, StringComparison.Ordinal);
        Assert.Contains("uiHost: \"127.0.0.1\",", settings, StringComparison.Ordinal);
        Assert.Contains("uiPort: 4242,", settings, StringComparison.Ordinal);
        Assert.Contains("credentialSecret: false,", settings, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(9000, 70, 6000, 140, 0, "SmartCity / Node-RED throughput = 1.50x, CPU per message = 0.50x", "[NOT MET]")]
    [InlineData(12000, 35, 6000, 70, 0, "SmartCity / Node-RED throughput = 2.00x, CPU per message = 0.50x", "[MET]")]
    [InlineData(12000, 35, 6000, 70, 10, "SmartCity / Node-RED throughput = 2.00x, CPU per message = 0.50x", "[NOT MET]")]
    public void Summary_PipelineAndPeerInOneRun_PrintsPeerLineRatiosAndVerdict(double rate, double us, double peerRate, double peerUs, long peerLost, string ratios, string verdict)
    {
        var report = Report();
        report.Throughput.Add(Result("pipeline-qos1", rate, us, 200, 0));
        report.Throughput.Add(Result(PeerNodeRed.Phase, peerRate, peerUs, 250, peerLost));

        var summary = E2eBenchmark.Summary(report);

        Assert.Contains($"PEER Node-RED 4.1.8: {peerRate.ToString("N0", CultureInfo.InvariantCulture)} msg/s, {peerUs:F0} us/msg, RSS 250 MB; {ratios} (round 1;", summary, StringComparison.Ordinal);
        var target = Assert.Single(summary.Split('\n'), l => l.Contains("twice Node-RED's", StringComparison.Ordinal));
        Assert.StartsWith($"  {verdict} ", target, StringComparison.Ordinal);
        Assert.Contains($"lost {peerLost}", target, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_PeerWithoutPipeline_PrintsPeerFiguresAndNotMeasured()
    {
        var report = Report();
        report.Throughput.Add(Result(PeerNodeRed.Phase, 6000, 140, 250, 0));

        var summary = E2eBenchmark.Summary(report);

        Assert.Contains("PEER Node-RED 4.1.8: 6,000 msg/s, 140 us/msg, RSS 250 MB (round 1;", summary, StringComparison.Ordinal);
        Assert.Contains("  [NOT MEASURED] twice Node-RED's", summary, StringComparison.Ordinal);
    }

    [Fact]
    public void Summary_NoPeer_PrintsNoPeerLines()
    {
        var report = Report();
        report.Throughput.Add(Result("pipeline-qos1", 9000, 70, 200, 0));

        var summary = E2eBenchmark.Summary(report);

        Assert.DoesNotContain("PEER", summary, StringComparison.Ordinal);
        Assert.DoesNotContain("Node-RED's", summary, StringComparison.Ordinal);
    }

    private static BenchReport Report() => new() { Machine = new MachineInfo("d", "cpu", 2, 1, "k", "n", "m", "i", 0), Command = "c", PublisherDescription = "p" };

    private static ThroughputResult Result(string name, double rate, double us, long rssMb, long lost)
    {
        var cpu = new CpuReport(10, new Dictionary<string, double> { [name == PeerNodeRed.Phase ? "nodered" : "worker"] = 100 }, 190, 0, 200, 2);
        var worker = new WorkerFigures(1, 100, us, rssMb * 1024, 100 * 1024, 0, [], "s", null);
        return new ThroughputResult(name, 1, 1, 60_000, 60_000 - lost, 60_000 / rate, rate, rate, rate, lost, cpu, worker, "n");
    }

    private static string S(JsonObject node, string property) => node[property]?.GetValue<string>() ?? "";

    /// <summary>The worker's stored line for a message: its decoder (profiles and all) and LineProtocol.Format.</summary>
    private static string WorkerLine(string topic, byte[] payload, DateTimeOffset now)
    {
        var outcome = Decoder.Value.Decode(topic, new ReadOnlySequence<byte>(payload), now);
        Assert.True(outcome.Status == DecodeStatus.Accepted, $"the worker rejects the test's message {System.Text.Encoding.UTF8.GetString(payload)}: {outcome.Result}");
        return LineProtocol.Format(outcome.Result.Point!);
    }

    private static readonly Lazy<MessageDecoder> Decoder = new(InfluxCeiling.WorkerDecoder);

    /// <summary>What mqtt in (datatype json) hands the function: the topic and the parsed payload.</summary>
    private static JsonObject Message(string topic, byte[] payload) => new() { ["topic"] = topic, ["payload"] = JsonNode.Parse(payload) };

    private sealed record FunctionRun(List<JsonNode?> Results, JsonObject Flow, List<string> Warnings);

    /// <summary>Runs a function node's body with Node.js over the messages (the harness above), the flow context starting as <paramref name="flow"/>.</summary>
    private static async Task<FunctionRun> RunFunctionAsync(string func, IEnumerable<JsonObject> messages, JsonObject? flow = null)
    {
        var dir = Directory.CreateTempSubdirectory("smartcity-peer-fn-").FullName;
        try
        {
            var harness = Path.Combine(dir, "harness.js");
            var input = Path.Combine(dir, "input.json");
            await File.WriteAllTextAsync(harness, Harness);
            await File.WriteAllTextAsync(input, new JsonObject { ["func"] = func, ["messages"] = new JsonArray([.. messages]), ["flow"] = flow?.DeepClone() }.ToJsonString());
            var (exitCode, output) = await E2eBenchmarkSmokeTests.RunAsync(Node(), [harness, input], TimeSpan.FromMinutes(2));
            Assert.True(exitCode == 0, $"node {harness} exited with {exitCode}:\n{E2eBenchmarkSmokeTests.Tail(output, 30)}");
            var result = JsonNode.Parse(output)!.AsObject();
            return new FunctionRun([.. result["results"]!.AsArray()], result["flow"]!.AsObject(), [.. result["warnings"]!.AsArray().Select(w => w!.GetValue<string>())]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Node.js (the Debian package's /usr/bin/node, or one on PATH): required, never skipped.</summary>
    private static string Node()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries).Append("/usr/bin"))
        {
            var path = Path.Combine(dir, "node");
            if (File.Exists(path))
            {
                return path;
            }
        }

        Assert.Fail("node (Node.js 20) is not on PATH nor at /usr/bin/node: these tests run the peer-nodered flow's function nodes with it (install the Debian package nodejs)");
        return "";
    }
}

using System.Diagnostics;
using System.Globalization;
using System.Text.Json;

namespace SmartCity.Bench;

/// <summary>
/// The same-run peer of issue 25 ("twice Node-RED's throughput at half its CPU per message"): Node-RED
/// 4.1 with a batching flow of our own, fed by the same publisher through the same broker, writing the
/// worker's own InfluxDB lines to the same InfluxDB, measured like pipeline-qos1. Opt-in
/// (<c>--phases ...,peer-nodered</c>): it needs npm once to install Node-RED into a git-ignored cache.
/// What the flow does NOT do that the worker does: no fsync'd spool (a batch in memory is lost with the
/// process), no ack after durability (mqtt in acknowledges on receipt), no validation (no profile ranges,
/// no device registry, no dead letters), no alerts, no retry of a failed write.
/// </summary>
public static class PeerNodeRed
{
    public const string Version = "4.1.8";

    /// <summary>The phase's name in --phases and its result's name in the report.</summary>
    public const string Phase = "peer-nodered";

    /// <summary>The join node's batch: 5,000 lines or 100 ms after a batch's first line, like the worker's sink.</summary>
    public const int BatchLines = 5000;

    public const double BatchSeconds = 0.1;

    /// <summary>The flow's own counters (lines written and failed), read like the worker's /api/pipeline.</summary>
    public const string CountersPath = "/bench/counters";

    private const string BrokerNode = "peer-broker";

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>
    /// The function node: a street-light telemetry message (the device contract's JSON, parsed by mqtt in)
    /// to the line the worker writes for it (LineProtocol.Format of the profile decoder's point): measurement
    /// street_light, the five identity tags from the topic sorted by key, the profile's fields in the
    /// profile's order (every fault flag written, true or false), the device's ts in nanoseconds. Numbers as
    /// .NET's "R" prints them. Other messages (births, events) are dropped: they are no street_light point.
    /// Nothing is validated (the worker checks types, ranges, registry): a peer that trusts its input.
    /// </summary>
    public const string LineFunction = """
        // {root}/{sector}/{district}/{site}/{device_type}/{device_id}/telemetry: the last six segments.
        const t = msg.topic.split("/");
        const n = t.length;
        const m = msg.payload;
        if (n < 7 || t[n - 1] !== "telemetry" || t[n - 3] !== "streetlight" || m === null || typeof m !== "object") {
            return null;
        }
        const tag = s => s.replace(/\\+$/, "").replace(/[, =]/g, "\\$&");
        // .NET's "R": the shortest round-trip digits (as JavaScript's), but the exponent form from 1E+15 up
        // and below 1E-04 (JavaScript: from 1e21 and below 1e-6), written 1.5E-05.
        const num = x => {
            const a = Math.abs(x);
            if (a === 0 || (a >= 1e-4 && a < 1e15)) {
                return String(x);
            }
            const [mant, exp] = x.toExponential().split("e");
            const e = Number(exp);
            return mant + "E" + (e < 0 ? "-" : "+") + String(Math.abs(e)).padStart(2, "0");
        };
        // ts: Unix ms, or RFC 3339 with an offset (fraction kept to 100 ns, as DateTimeOffset does).
        const nanos = ts => {
            if (typeof ts === "number") {
                return (BigInt(ts) * 1000000n).toString();
            }
            const r = /^(.+T\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$/i.exec(ts);
            const frac = ((r[2] || "") + "0000000").slice(0, 7);
            return (BigInt(Date.parse(r[1] + r[3])) * 1000000n + BigInt(frac) * 100n).toString();
        };
        let line = "street_light,device_id=" + tag(t[n - 2]) + ",device_type=" + tag(t[n - 3]) + ",district=" + tag(t[n - 5])
            + ",sector=" + tag(t[n - 6]) + ",site=" + tag(t[n - 4]);
        let sep = " ";
        const add = (k, v) => { line += sep + k + "=" + v; sep = ","; };
        if (typeof m.on === "boolean") add("on", m.on);
        for (const k of ["dim_pct", "power_w", "energy_kwh", "voltage_v", "current_a", "power_factor", "burning_hours"]) {
            if (typeof m[k] === "number") add(k, num(m[k]));
        }
        if (typeof m.photocell_on === "boolean") add("photocell_on", m.photocell_on);
        if (typeof m.seq === "number") add("seq", m.seq + "i");
        const faults = Array.isArray(m.faults) ? m.faults : [];
        for (const f of ["lamp_failure", "driver_failure", "over_voltage", "under_voltage"]) {
            add("fault_" + f, faults.includes(f));
        }
        msg.payload = line + " " + nanos(m.ts);
        return msg;
        """;

    /// <summary>After the join (an array of lines): the write's body, and how many lines it holds for the counters.</summary>
    public const string BodyFunction = """
        msg.lines = msg.payload.length;
        msg.payload = msg.payload.join("\n");
        msg.headers = { "Content-Type": "text/plain; charset=utf-8" };
        return msg;
        """;

    /// <summary>After the write: InfluxDB's 204 counts the batch's lines as stored; anything else (an error code too) as failed.</summary>
    public const string CountFunction = """
        const ok = typeof msg.statusCode === "number" && msg.statusCode >= 200 && msg.statusCode < 300;
        const key = ok ? "stored" : "failed";
        flow.set(key, (flow.get(key) || 0) + msg.lines);
        flow.set("batches", (flow.get("batches") || 0) + 1);
        if (!ok) {
            node.warn("write failed: " + msg.statusCode + " " + String(msg.payload).slice(0, 200));
        }
        return null;
        """;

    public const string CountersFunction = """
        msg.payload = { stored: flow.get("stored") || 0, failed: flow.get("failed") || 0, batches: flow.get("batches") || 0 };
        return msg;
        """;

    /// <param name="TopicFilter">The worker's subscription in the same phase (e.g. city/#).</param>
    /// <param name="WriteUrl">InfluxDB's v1 write of the phase's database, e.g. http://127.0.0.1:8086/write?db=bench_1234.</param>
    public sealed record FlowOptions(string MqttHost, int MqttPort, string ClientId, string TopicFilter, string WriteUrl);

    /// <summary>flows.json: mqtt in (QoS 1) -> line -> join -> body -> http request -> count; http in -> counters -> http response.</summary>
    public static string Flow(FlowOptions o)
    {
        const string tab = "peer-tab";
        object Function(string id, string name, string func, string next) =>
            new { id, type = "function", z = tab, name, func, outputs = 1, timeout = 0, noerr = 0, initialize = "", finalize = "", libs = Array.Empty<object>(), x = 0, y = 0, wires = new[] { next.Length == 0 ? Array.Empty<string>() : new[] { next } } };
        var nodes = new object[]
        {
            new { id = tab, type = "tab", label = "SmartCity bench peer", disabled = false, info = "street-light telemetry to InfluxDB in batches" },
            new
            {
                id = BrokerNode, type = "mqtt-broker", name = "bench broker", broker = o.MqttHost, port = o.MqttPort.ToString(CultureInfo.InvariantCulture),
                clientid = o.ClientId, autoConnect = true, usetls = false, protocolVersion = "5", keepalive = "60", cleansession = true, autoUnsubscribe = true,
                birthTopic = "", closeTopic = "", willTopic = "", sessionExpiry = "",
            },
            new { id = "peer-in", type = "mqtt in", z = tab, name = "telemetry", topic = o.TopicFilter, qos = "1", datatype = "json", broker = BrokerNode, nl = false, rap = true, rh = 0, inputs = 0, x = 0, y = 0, wires = new[] { new[] { "peer-line" } } },
            Function("peer-line", "to line protocol", LineFunction, "peer-join"),
            new
            {
                id = "peer-join", type = "join", z = tab, name = "batch", mode = "custom", build = "array", property = "payload", propertyType = "msg", key = "topic", joiner = "\\n", joinerType = "str",
                accumulate = false, timeout = BatchSeconds.ToString(CultureInfo.InvariantCulture), count = BatchLines.ToString(CultureInfo.InvariantCulture), reduceRight = false, x = 0, y = 0, wires = new[] { new[] { "peer-body" } },
            },
            Function("peer-body", "write body", BodyFunction, "peer-write"),
            new { id = "peer-write", type = "http request", z = tab, name = "InfluxDB write", method = "POST", ret = "txt", paytoqs = "ignore", url = o.WriteUrl, tls = "", persist = true, proxy = "", insecureHTTPParser = false, authType = "", senderr = false, headers = Array.Empty<object>(), x = 0, y = 0, wires = new[] { new[] { "peer-count" } } },
            Function("peer-count", "count", CountFunction, ""),
            new { id = "peer-counters-in", type = "http in", z = tab, name = "counters", url = CountersPath, method = "get", upload = false, swaggerDoc = "", x = 0, y = 0, wires = new[] { new[] { "peer-counters" } } },
            Function("peer-counters", "counters", CountersFunction, "peer-counters-out"),
            new { id = "peer-counters-out", type = "http response", z = tab, name = "", statusCode = "200", headers = new { }, x = 0, y = 0, wires = Array.Empty<object>() },
        };
        return JsonSerializer.Serialize(nodes, Indented);
    }

    /// <summary>flows_cred.json (plain: settings.js says credentialSecret false) with the broker account, or null without one.</summary>
    public static string? Credentials(string? user, string? password) =>
        user is null ? null : JsonSerializer.Serialize(new Dictionary<string, object> { [BrokerNode] = new { user, password = password ?? "" } });

    /// <summary>
    /// settings.js: no editor and no admin API, the flow's HTTP endpoints on 127.0.0.1:<paramref name="port"/>, plain
    /// credentials, and a log handler that prints CONNECTED / STARTED at the start of a stdout line for the bench to wait on.
    /// </summary>
    public static string Settings(string userDir, int port) =>
        "module.exports = {\n"
        + $"  userDir: {JsonSerializer.Serialize(userDir)},\n"
        + "  flowFile: \"flows.json\",\n"
        + "  credentialSecret: false,\n"
        + "  uiHost: \"127.0.0.1\",\n"
        + $"  uiPort: {port.ToString(CultureInfo.InvariantCulture)},\n"
        + "  httpAdminRoot: false,\n"
        + "  httpNodeRoot: \"/\",\n"
        + "  functionExternalModules: false,\n"
        + "  diagnostics: { enabled: false },\n"
        + "  telemetry: { enabled: false },\n"
        + "  editorTheme: { projects: { enabled: false } },\n"
        + "  logging: {\n"
        + "    console: { level: \"warn\", metrics: false, audit: false },\n"
        + "    bench: { level: \"info\", metrics: false, audit: false, handler: function () {\n"
        + "      return function (m) {\n"
        + "        const text = String(m.msg);\n"
        + "        if (m.type === \"mqtt-broker\" && text.startsWith(\"Connected to broker\")) { console.log(\"CONNECTED \" + text); }\n"
        + "        else if (text === \"Started flows\") { console.log(\"STARTED\"); }\n"
        + "      };\n"
        + "    } },\n"
        + "  },\n"
        + "};\n";

    /// <summary>Where Node-RED is installed: SMARTCITY_BENCH_NODERED_DIR, else bench/.cache/node-red-VERSION of this checkout (git-ignored).</summary>
    public static string InstallDirectory()
    {
        if (Environment.GetEnvironmentVariable("SMARTCITY_BENCH_NODERED_DIR") is { Length: > 0 } configured)
        {
            return configured;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SmartCity.sln")))
            {
                return Path.Combine(dir.FullName, "bench", ".cache", "node-red-" + Version);
            }
        }

        return Path.Combine(Path.GetTempPath(), "smartcity-bench-node-red-" + Version);
    }

    public static string RedJs(string installDirectory) => Path.Combine(installDirectory, "node_modules", "node-red", "red.js");

    /// <summary>Installs node-red@<see cref="Version"/> with npm once; later runs find it in place (its package.json names the version).</summary>
    public static async Task EnsureInstalledAsync(string installDirectory, string logPath)
    {
        var package = Path.Combine(installDirectory, "node_modules", "node-red", "package.json");
        if (File.Exists(package) && InstalledVersion(package) == Version)
        {
            return;
        }

        Directory.CreateDirectory(installDirectory);
        Console.WriteLine($"  installing node-red@{Version} into {installDirectory} (npm, once)");
        var info = new ProcessStartInfo("npm", ["install", "--prefix", installDirectory, "--no-audit", "--no-fund", "node-red@" + Version]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        using var npm = Process.Start(info) ?? throw new InvalidOperationException("cannot start npm (Node.js 20 and npm are needed for the peer-nodered phase)");
        var stdout = npm.StandardOutput.ReadToEndAsync();
        var stderr = npm.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await npm.WaitForExitAsync(cts.Token);
        await File.WriteAllTextAsync(logPath, await stdout + await stderr);
        if (npm.ExitCode != 0 || InstalledVersion(package) != Version)
        {
            throw new InvalidOperationException($"npm install node-red@{Version} failed (exit {npm.ExitCode}; log {logPath})");
        }
    }

    private static string? InstalledVersion(string packageJson)
    {
        if (!File.Exists(packageJson))
        {
            return null;
        }

        using var json = JsonDocument.Parse(File.ReadAllText(packageJson));
        return json.RootElement.TryGetProperty("version", out var v) ? v.GetString() : null;
    }

    /// <summary>The flow's counters from <see cref="CountersPath"/>.</summary>
    public sealed record Counters(long Stored, long Failed, long Batches);

    public static Counters ParseCounters(string json)
    {
        using var doc = JsonDocument.Parse(json);
        var r = doc.RootElement;
        return new Counters(r.GetProperty("stored").GetInt64(), r.GetProperty("failed").GetInt64(), r.GetProperty("batches").GetInt64());
    }

    /// <summary>SmartCity / Node-RED, medians over the rounds of per-round ratios: throughput (higher is better) and CPU per message (lower is better).</summary>
    public static (double Throughput, double CpuPerMessage)? Ratios(BenchReport r)
    {
        var pairs = r.Throughput.Where(t => t.Name == "pipeline-qos1" && t.Worker is not null)
            .Join(r.Throughput.Where(t => t.Name == Phase && t.Worker is not null), a => a.Round, b => b.Round, (a, b) => (SmartCity: a, Peer: b))
            .Where(p => p.Peer.Rate > 0 && p.Peer.Worker!.CpuMicrosecondsPerMessage > 0)
            .ToList();
        return pairs.Count == 0
            ? null
            : (BenchReport.MedianOf(pairs.Select(p => p.SmartCity.Rate / p.Peer.Rate)),
               BenchReport.MedianOf(pairs.Select(p => p.SmartCity.Worker!.CpuMicrosecondsPerMessage / p.Peer.Worker!.CpuMicrosecondsPerMessage)));
    }

    /// <summary>The summary's PEER lines: one per round, and the ratios when pipeline-qos1 ran in the same run.</summary>
    public static void WriteSummary(TextWriter w, BenchReport r)
    {
        foreach (var t in r.Throughput.Where(t => t.Name == Phase && t.Worker is not null))
        {
            var line = string.Create(CultureInfo.InvariantCulture, $"PEER Node-RED {Version}: {t.Rate:N0} msg/s, {t.Worker!.CpuMicrosecondsPerMessage:F0} us/msg, RSS {t.Worker.PeakRssKb / 1024.0:F0} MB");
            if (r.Throughput.FirstOrDefault(s => s.Name == "pipeline-qos1" && s.Round == t.Round && s.Worker is not null) is { } smartCity && t.Rate > 0 && t.Worker.CpuMicrosecondsPerMessage > 0)
            {
                line += string.Create(CultureInfo.InvariantCulture, $"; SmartCity / Node-RED throughput = {smartCity.Rate / t.Rate:F2}x, CPU per message = {smartCity.Worker!.CpuMicrosecondsPerMessage / t.Worker.CpuMicrosecondsPerMessage:F2}x");
            }

            w.WriteLine(line + string.Create(CultureInfo.InvariantCulture, $" (round {t.Round}; steady {t.SteadyRate:N0} msg/s, lost {t.Lost:N0}; Node-RED: no spool, acks on receipt, no validation, no alerts)"));
        }
    }

    /// <summary>Issue 25's headline as a verdict line for TARGETS, or null when the peer did not run.</summary>
    public static string? Verdict(BenchReport r)
    {
        if (!r.Throughput.Any(t => t.Name == Phase))
        {
            return null;
        }

        const string target = "twice Node-RED's QoS 1 throughput at half its CPU per message (same run, both 0 lost)";
        if (Ratios(r) is not { } ratios)
        {
            return $"  [NOT MEASURED] {target}: pipeline-qos1 not run beside {Phase}";
        }

        var lost = r.Throughput.Where(t => t.Name is "pipeline-qos1" or Phase).Sum(t => t.Lost);
        var met = lost == 0 && ratios.Throughput >= 2 && ratios.CpuPerMessage <= 0.5;
        return string.Create(CultureInfo.InvariantCulture, $"  [{(met ? "MET" : "NOT MET")}] {target}: throughput {ratios.Throughput:F2}x, CPU per message {ratios.CpuPerMessage:F2}x, lost {lost:N0}");
    }
}

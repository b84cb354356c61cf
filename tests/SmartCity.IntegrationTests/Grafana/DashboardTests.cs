using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using SmartCity.IntegrationTests.Infrastructure;
using SmartCity.Simulators.Publishing;
using SmartCity.Simulators.Scenarios;

namespace SmartCity.IntegrationTests.Grafana;

/// <summary>
/// Grafana as committed (grafana/, docker-compose.yml): offline checks of every dashboard and
/// provisioning file, every panel's InfluxQL run against the real InfluxDB after a scenario went
/// through the real worker, and the compose file validated by docker-compose.
/// </summary>
public sealed partial class DashboardTests
{
    private const string DatasourceType = "influxdb";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    private static string RepoRoot => RepositoryFiles.Root;

    private static string GrafanaDir => Path.Combine(RepoRoot, "grafana");

    internal sealed record Dashboard(string File, JsonElement Root)
    {
        public string Name => Path.GetFileName(File);

        /// <summary>Reads the rollup database (datasource variable <c>rollups</c>), not the raw data.</summary>
        public bool ReadsRollups => Variables.Any(v => v.GetProperty("name").GetString() == "rollups");

        public IEnumerable<JsonElement> Panels => AllPanels(Root);

        public IEnumerable<JsonElement> Variables =>
            Root.TryGetProperty("templating", out var t) && t.TryGetProperty("list", out var l) ? l.EnumerateArray() : [];

        /// <summary>Annotation queries other than Grafana's built-in one (which reads Grafana's own store).</summary>
        public IEnumerable<JsonElement> Annotations =>
            Root.TryGetProperty("annotations", out var a) && a.TryGetProperty("list", out var l)
                ? l.EnumerateArray().Where(x => !(x.TryGetProperty("builtIn", out var b) && b.ValueKind == JsonValueKind.Number && b.GetInt32() == 1))
                : [];

        private static IEnumerable<JsonElement> AllPanels(JsonElement parent)
        {
            if (!parent.TryGetProperty("panels", out var panels))
            {
                yield break;
            }

            foreach (var p in panels.EnumerateArray())
            {
                yield return p;
                foreach (var nested in AllPanels(p))
                {
                    yield return nested;
                }
            }
        }
    }

    /// <summary>The dashboards as committed (importable templates), or as rendered into <paramref name="directory"/>.</summary>
    internal static List<Dashboard> LoadDashboards(string? directory = null)
    {
        var files = Directory.GetFiles(directory ?? Path.Combine(GrafanaDir, "dashboards"), "*.json").Order(StringComparer.Ordinal).ToList();
        Assert.True(files.Count >= 6, $"expected the six dashboards in grafana/dashboards, found {files.Count}");
        return files.Select(f =>
        {
            try
            {
                return new Dashboard(f, JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone());
            }
            catch (JsonException e)
            {
                throw new Xunit.Sdk.XunitException($"{Path.GetFileName(f)} is not valid JSON: {e.Message}");
            }
        }).ToList();
    }

    internal static string Title(JsonElement panel) => panel.TryGetProperty("title", out var t) ? t.GetString() ?? "" : "(untitled)";

    /// <summary>
    /// The InfluxQL of an annotation: Grafana (10+) keeps it in <c>target.query</c> with
    /// <c>rawQuery</c>; a legacy top-level <c>query</c> only works after Grafana migrates it, so it is refused.
    /// </summary>
    private static string? AnnotationQuery(JsonElement annotation) =>
        annotation.TryGetProperty("target", out var t) && t.ValueKind == JsonValueKind.Object
            && t.TryGetProperty("rawQuery", out var r) && r.ValueKind == JsonValueKind.True
            && t.TryGetProperty("query", out var q) && q.ValueKind == JsonValueKind.String
            ? q.GetString()
            : null;

    private static string AnnotationName(JsonElement annotation) =>
        annotation.TryGetProperty("name", out var n) ? n.GetString() ?? "" : "(unnamed)";

    private static bool IsInfluxQlSelect(string? query) =>
        !string.IsNullOrWhiteSpace(query) && query.TrimStart().StartsWith("SELECT ", StringComparison.OrdinalIgnoreCase) && !query.Contains("|>", StringComparison.Ordinal);

    // ------------------------------------------------------------------------------------------
    // Offline checks
    // ------------------------------------------------------------------------------------------

    [Fact]
    public async Task Offline_EveryFileParses_UidsUnique_DatasourcesProvisioned_EveryTargetInfluxQl()
    {
        // Provisioning: every YAML file parses; the datasource is InfluxQL; the provider loads our folder.
        var yamlFiles = Directory.GetFiles(Path.Combine(GrafanaDir, "provisioning"), "*.*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(yamlFiles);
        var datasources = new Dictionary<string, string>(StringComparer.Ordinal); // uid -> type
        var providers = 0;
        foreach (var file in yamlFiles)
        {
            var doc = MiniYaml.Parse(File.ReadAllText(file), Path.GetFileName(file)) as Dictionary<string, object?>
                ?? throw new Xunit.Sdk.XunitException($"{file}: top level is not a mapping");
            Assert.True(doc.ContainsKey("apiVersion"), $"{file}: apiVersion missing");
            foreach (var ds in List(doc, "datasources"))
            {
                var uid = Str(ds, "uid") ?? throw new Xunit.Sdk.XunitException($"{file}: a datasource without uid");
                datasources.Add(uid, Str(ds, "type") ?? "");
                Assert.Equal(DatasourceType, Str(ds, "type"));
                var json = ds.TryGetValue("jsonData", out var j) ? j as Dictionary<string, object?> : null;
                Assert.True(json is not null && Str(json, "version") == "InfluxQL", $"{file}: datasource '{uid}' must use jsonData.version InfluxQL");
                Assert.False(string.IsNullOrEmpty(Str(json!, "dbName")), $"{file}: datasource '{uid}' needs jsonData.dbName (InfluxQL database / DBRP)");
            }

            foreach (var provider in List(doc, "providers"))
            {
                providers++;
                Assert.Equal("file", Str(provider, "type"));
                var options = provider["options"] as Dictionary<string, object?>;
                var path = options is null ? null : Str(options, "path");
                Assert.True(path is not null, $"{file}: provider without options.path");
                // The provider's path is where the Grafana entrypoint renders grafana/dashboards, which
                // docker-compose.yml mounts where the entrypoint reads them.
                var entrypoint = File.ReadAllText(Path.Combine(RepoRoot, "deploy", "grafana", "entrypoint.sh"));
                Assert.Contains($"${{SMARTCITY_DASHBOARDS_RENDERED:-{path}}}", entrypoint, StringComparison.Ordinal);
                var source = Regex.Match(entrypoint, @"\$\{SMARTCITY_DASHBOARDS_SOURCE:-(?<dir>[^}]+)\}").Groups["dir"].Value;
                Assert.Contains($"./grafana/dashboards:{source}:ro", File.ReadAllText(Path.Combine(RepoRoot, "docker-compose.yml")), StringComparison.Ordinal);
            }
        }

        Assert.Contains("smartcity-influxdb", datasources.Keys);
        Assert.True(providers >= 1, "no dashboards provider in grafana/provisioning");

        // As provisioned: rendered with the city's settings (the committed files are importable templates).
        var dashboards = LoadDashboards(await RenderedAsync());
        var uids = new HashSet<string>(StringComparer.Ordinal);
        var problems = new List<string>();
        foreach (var d in dashboards)
        {
            var uid = d.Root.TryGetProperty("uid", out var u) ? u.GetString() : null;
            if (string.IsNullOrEmpty(uid) || uid.Length > 40)
            {
                problems.Add($"{d.Name}: uid missing or longer than 40 characters");
            }
            else if (!uids.Add(uid))
            {
                problems.Add($"{d.Name}: uid '{uid}' is used by another dashboard");
            }

            if (!d.Root.TryGetProperty("title", out var title) || string.IsNullOrWhiteSpace(title.GetString()))
            {
                problems.Add($"{d.Name}: no title");
            }

            // Every datasource reference anywhere in the dashboard names a provisioned one (or Grafana's built-in annotations).
            foreach (var (where, reference) in DatasourceReferences(d.Root, "$"))
            {
                if (reference.ValueKind == JsonValueKind.Object)
                {
                    var refUid = reference.TryGetProperty("uid", out var ru) ? ru.GetString() : null;
                    // A datasource variable (${datasource}): what it selects as provisioned.
                    refUid = refUid is ['$', '{', .., '}'] ? DatasourceVariableValue(d, refUid[2..^1]) : refUid;
                    var refType = reference.TryGetProperty("type", out var rt) ? rt.GetString() : null;
                    if (refUid == "-- Grafana --" && refType == "grafana")
                    {
                        continue;
                    }

                    if (refUid is null || !datasources.TryGetValue(refUid, out var type) || type != refType)
                    {
                        problems.Add($"{d.Name} {where}: datasource {reference} is not provisioned (known: {string.Join(", ", datasources.Select(x => $"{x.Value}/{x.Key}"))})");
                    }
                }
                else if (reference.ValueKind != JsonValueKind.Null)
                {
                    problems.Add($"{d.Name} {where}: datasource {reference} must be an object {{type, uid}} (by uid, not by name)");
                }
            }

            foreach (var panel in d.Panels.Where(p => p.TryGetProperty("targets", out _)))
            {
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    var query = target.TryGetProperty("query", out var q) ? q.GetString() : null;
                    var raw = target.TryGetProperty("rawQuery", out var r) && r.ValueKind == JsonValueKind.True;
                    var ds = target.TryGetProperty("datasource", out var tds) ? tds : panel.GetProperty("datasource");
                    var isInflux = ds.ValueKind == JsonValueKind.Object && ds.TryGetProperty("type", out var dt) && dt.GetString() == DatasourceType;
                    if (!isInflux || !raw || !IsInfluxQlSelect(query) || target.TryGetProperty("language", out _))
                    {
                        problems.Add($"{d.Name} panel '{Title(panel)}': target {target.GetProperty("refId")} is not a raw InfluxQL SELECT on the influxdb datasource");
                    }
                }
            }

            foreach (var a in d.Annotations)
            {
                var ds = a.TryGetProperty("datasource", out var ads) ? ads : default;
                var isInflux = ds.ValueKind == JsonValueKind.Object && ds.TryGetProperty("type", out var dt) && dt.GetString() == DatasourceType;
                if (!isInflux || !IsInfluxQlSelect(AnnotationQuery(a)))
                {
                    problems.Add($"{d.Name} annotation '{AnnotationName(a)}': not a raw InfluxQL SELECT (target.query, target.rawQuery) on the influxdb datasource");
                }
            }

            foreach (var v in d.Variables.Where(v => v.GetProperty("type").GetString() == "query"))
            {
                var query = v.GetProperty("query").ValueKind == JsonValueKind.String ? v.GetProperty("query").GetString() : null;
                if (query is null || !query.StartsWith("SHOW TAG VALUES ", StringComparison.Ordinal))
                {
                    problems.Add($"{d.Name} variable '{v.GetProperty("name")}': query must be an InfluxQL SHOW TAG VALUES string");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
        Assert.Superset(new HashSet<string> { "smartcity-overview", "smartcity-lighting", "smartcity-schools", "smartcity-security", "smartcity-pipeline", "smartcity-alerts" }, uids);

        // Every sector dashboard marks alert transitions on its graphs.
        Assert.All(dashboards, d => Assert.NotEmpty(d.Annotations));
    }

    private static IEnumerable<(string Where, JsonElement Reference)> DatasourceReferences(JsonElement e, string path)
    {
        if (e.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in e.EnumerateObject())
            {
                if (p.Name == "datasource")
                {
                    yield return (path, p.Value);
                }
                else
                {
                    foreach (var r in DatasourceReferences(p.Value, path + "." + p.Name))
                    {
                        yield return r;
                    }
                }
            }
        }
        else if (e.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in e.EnumerateArray())
            {
                foreach (var r in DatasourceReferences(item, $"{path}[{i++}]"))
                {
                    yield return r;
                }
            }
        }
    }

    private static IEnumerable<Dictionary<string, object?>> List(Dictionary<string, object?> map, string key) =>
        map.TryGetValue(key, out var v) && v is List<object?> list ? list.OfType<Dictionary<string, object?>>() : [];

    private static string? Str(Dictionary<string, object?> map, string key) => map.TryGetValue(key, out var v) ? v as string : null;

    // ------------------------------------------------------------------------------------------
    // Every panel against real data
    // ------------------------------------------------------------------------------------------

    [Fact]
    public async Task EveryPanelQuery_AfterTheGrafanaCityScenarioRanThroughTheWorker_ReturnsData()
    {
        // The rollup dashboard's panels run in RollupWeekTests, on a week of rollups.
        var dashboards = LoadDashboards(await RenderedAsync()).Where(d => !d.ReadsRollups).ToList();
        await using var db = await InfluxTestDatabase.CreateAsync();
        // Lighting's energy meter writes lighting_energy on its tick: often, so the panel's data is there when checked.
        var settings = new Dictionary<string, string?> { ["PipelineReport:Interval"] = "00:00:00.500", ["Lighting:TickInterval"] = "00:00:00.500" };
        // The replayed day is whatever yesterday was; school-hours rules (co2_high: the Schools
        // dashboard's ventilation alerts) must fire on a Saturday too, so every day is a school day here.
        foreach (var (day, i) in Enum.GetValues<DayOfWeek>().Select((d, i) => (d, i)))
        {
            settings[$"Alerting:SchoolHours:Days:{i}"] = day.ToString();
        }

        await using var worker = await TestWorker.StartAsync(db, overrides: settings);
        var file = Path.Combine(RepoRoot, "simulators", "scenarios", "grafana-city.json");
        var loaded = Scenario.Load(file);
        var scenario = loaded with { Start = loaded.ResolveStart(DateTimeOffset.UtcNow), TopicRoot = worker.TopicRoot };
        int expected;
        using (var generator = new CityGenerator(scenario, scenario.Start!.Value, scenario.Start.Value + scenario.Duration))
        {
            expected = generator.Messages().Count();
        }

        var counters = new RunCounters();
        var options = new ScenarioRunOptions { Broker = TestWorker.Broker, ClientIdPrefix = TestServers.UniqueName("sim-"), Gateways = 2, Load = true };
        await using (var transport = new GatewayTransport(options.Broker, options.ClientIdPrefix, options.Gateways, options.InFlight, options.Qos, counters))
        {
            var result = await ScenarioRunner.RunAsync(scenario, options, transport, counters, TimeProvider.System);
            Assert.Equal(expected, result.Acknowledged);
        }

        // Everything stored, then two more pipeline reports stored after it (rates need consecutive reports).
        await worker.Metrics.WaitUntilAsync(s => s.Acknowledged >= expected && s.SpoolDepth == 0, Timeout);
        // Re-queried after every stored batch, the 0.5 s reports included.
        var reports = await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync($"SELECT count(\"received\") FROM \"pipeline_stats\" WHERE \"acknowledged\" >= {expected}"), n => n >= 2, Timeout);
        Assert.True(reports >= 2, "the worker stored fewer than two pipeline_stats reports after the scenario");

        // An operator acknowledges the forced door, as on duty (the Alerts dashboard counts and marks acknowledgements).
        using var http = worker.CreateClient(TestApiKeys.Operator);
        var door = (await OpenAlertsAsync(http)).FirstOrDefault(a => a.Rule == "door_forced");
        Assert.True(door is not null, "the scenario's forced door raised no open door_forced alert");
        using (var ack = await http.PostAsJsonAsync($"/api/alerts/{door.Id}/acknowledge", new { comment = "patrol sent" }))
        {
            Assert.Equal(HttpStatusCode.OK, ack.StatusCode);
        }

        var acknowledgements = await StoredQuery.WaitForAsync(worker.Metrics, () => db.CountAsync($"SELECT count(\"state\") FROM \"alert_transition\" WHERE \"transition\" = 'acknowledged' AND \"alert_id\" = '{door.Id}'"), n => n >= 1, Timeout);
        Assert.True(acknowledgements >= 1, "the acknowledgement was not stored in alert_transition");

        await OpenAlertsPanel_ListsExactlyTheWorkersOpenAlerts(dashboards, db, http, worker);

        // The range a technician would pick: from the replayed day's start until just after now
        // (dead letters, last wills and pipeline reports carry the time of receipt).
        var from = scenario.Start.Value.ToUnixTimeMilliseconds();
        var to = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeMilliseconds();
        var failures = new List<string>();
        var checkedQueries = 0;
        foreach (var d in dashboards)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var v in d.Variables)
            {
                var name = v.GetProperty("name").GetString()!;
                var type = v.GetProperty("type").GetString();
                if (type == "query")
                {
                    var query = Substitute(v.GetProperty("query").GetString()!, values, from, to, d.Name);
                    var found = (await RowsOrError(db, query)).Rows.Select(r => r.Row.TryGetValue("value", out var x) ? x.ToString() : null).OfType<string>().ToList();
                    checkedQueries++;
                    if (found.Count == 0)
                    {
                        failures.Add($"{d.Name} variable '{name}': no values from {query}");
                    }

                    // "All", as Grafana sends it: the custom all value, else every value as a regex alternation.
                    values[name] = v.TryGetProperty("allValue", out var all) && all.GetString() is { Length: > 0 } a
                        ? a
                        : "(" + string.Join('|', found.Select(Regex.Escape)) + ")";
                }
                else
                {
                    values[name] = v.TryGetProperty("current", out var c) && c.TryGetProperty("value", out var cv) && cv.ValueKind == JsonValueKind.String
                        ? cv.GetString()!
                        : v.GetProperty("query").GetString()!;
                }
            }

            foreach (var annotation in d.Annotations)
            {
                var query = Substitute(AnnotationQuery(annotation) ?? "", values, from, to, d.Name);
                var (rows, error) = await RowsOrError(db, query);
                checkedQueries++;
                if (error is not null || rows.Count == 0)
                {
                    failures.Add($"{d.Name} annotation '{AnnotationName(annotation)}': {error ?? "no data"}{Environment.NewLine}    {query}");
                }
            }

            foreach (var panel in d.Panels.Where(p => p.TryGetProperty("targets", out _)))
            {
                foreach (var target in panel.GetProperty("targets").EnumerateArray())
                {
                    var query = Substitute(target.GetProperty("query").GetString()!, values, from, to, d.Name);
                    var (rows, error) = await RowsOrError(db, query);
                    checkedQueries++;
                    if (error is not null || !rows.Any(r => r.Row.Any(c => c.Key != "time" && c.Value.ValueKind != JsonValueKind.Null)))
                    {
                        failures.Add($"{d.Name} panel '{Title(panel)}' target {target.GetProperty("refId")}: {error ?? "no data"}{Environment.NewLine}    {query}");
                    }
                }
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {checkedQueries} queries failed:{Environment.NewLine}{string.Join(Environment.NewLine, failures)}");
        Assert.True(checkedQueries >= 90, $"only {checkedQueries} queries checked");
    }

    private sealed record OpenAlert(string Id, string Rule, string DeviceId);

    private static async Task<List<OpenAlert>> OpenAlertsAsync(HttpClient http) =>
        (await http.GetFromJsonAsync<JsonElement>("/api/alerts?state=open")).EnumerateArray()
            .Select(a => new OpenAlert(a.GetProperty("id").GetString()!, a.GetProperty("rule").GetString()!, a.GetProperty("deviceId").GetString()!))
            .ToList();

    /// <summary>
    /// "Open" in InfluxQL (the latest transition per device and rule is not resolved) against the
    /// worker's own list: the same alerts, no more, no fewer. The API answers from the alert engine, and the
    /// engine's transitions reach the spool from a publishing loop of their own, so a transition the API
    /// already shows (an alarm resolved) can still be on its way to InfluxDB when the spool is empty: the two
    /// lists are compared again after every stored batch until they agree (the worker's list read before and
    /// after the query, so it did not change meanwhile), and the last answers are asserted.
    /// </summary>
    private static async Task OpenAlertsPanel_ListsExactlyTheWorkersOpenAlerts(List<Dashboard> dashboards, InfluxTestDatabase db, HttpClient http, TestWorker worker)
    {
        var alerts = dashboards.Single(d => d.Root.GetProperty("uid").GetString() == "smartcity-alerts");
        var panel = alerts.Panels.Single(p => Title(p) == "Open alerts now");
        var all = alerts.Variables.Where(v => v.TryGetProperty("allValue", out _)).ToDictionary(v => v.GetProperty("name").GetString()!, v => v.GetProperty("allValue").GetString()!);
        var query = Substitute(panel.GetProperty("targets")[0].GetProperty("query").GetString()!, all, 0, 0, alerts.Name);
        async Task<List<string>> WorkersAsync() => (await OpenAlertsAsync(http)).Select(a => $"{a.Rule} {a.DeviceId}").Order(StringComparer.Ordinal).ToList();
        var (before, stored, _) = await StoredQuery.WaitForAsync(
            worker.Metrics,
            async () => (await WorkersAsync(), (await db.RowsAsync(query)).Select(r => $"{r.Row["rule"].GetString()} {r.Row["device_id"].GetString()}").Order(StringComparer.Ordinal).ToList(), await WorkersAsync()),
            x => x.Item1.SequenceEqual(x.Item3) && x.Item1.SequenceEqual(x.Item2),
            Timeout);
        Assert.NotEmpty(before);
        Assert.Equal(before, stored);
    }

    internal static async Task<(List<(IReadOnlyDictionary<string, string> Tags, Dictionary<string, JsonElement> Row)> Rows, string? Error)> RowsOrError(InfluxTestDatabase db, string query)
    {
        try
        {
            return (await db.RowsAsync(query), null);
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException)
        {
            return ([], e.Message);
        }
    }

    /// <summary>Grafana's InfluxQL interpolation: macros, then $var, ${var}, ${var:format} and [[var]].</summary>
    internal static string Substitute(string query, Dictionary<string, string> values, long fromMs, long toMs, string dashboard)
    {
        var s = query
            .Replace("$timeFilter", $"time >= {fromMs}ms and time <= {toMs}ms", StringComparison.Ordinal)
            .Replace("$__interval_ms", "60000", StringComparison.Ordinal)
            .Replace("$__interval", "1m", StringComparison.Ordinal);
        return VariablePattern().Replace(s, m =>
        {
            var name = m.Groups["a"].Success ? m.Groups["a"].Value : m.Groups["b"].Success ? m.Groups["b"].Value : m.Groups["c"].Value;
            return values.TryGetValue(name, out var v)
                ? v
                : throw new Xunit.Sdk.XunitException($"{dashboard}: query uses ${name}, which is not a variable of the dashboard: {query}");
        });
    }

    [GeneratedRegex(@"\$\{(?<a>\w+)(?::\w+)?\}|\[\[(?<b>\w+)\]\]|\$(?<c>[A-Za-z_]\w*)")]
    private static partial Regex VariablePattern();

    // ------------------------------------------------------------------------------------------
    // docker-compose.yml
    // ------------------------------------------------------------------------------------------

    [Fact]
    public async Task ComposeFile_ValidatesWithDockerCompose_AndCommitsNoSecrets()
    {
        var root = RepoRoot;
        var compose = await FindComposeAsync();
        Assert.True(compose is not null,
            "Neither docker-compose nor the docker compose plugin was found, so docker-compose.yml cannot be validated. "
            + "Install Debian's package: sudo apt-get install docker-compose (scripts/servers.sh installs it when run as root). "
            + (Environment.GetEnvironmentVariable("CI") == "true" ? "CI=true: this must not happen in CI." : "This test never skips."));
        var (exit, output) = await RunAsync(compose!.Value.File, [.. compose.Value.Prefix, "-f", "docker-compose.yml", "--env-file", ".env.example", "config", "-q"], root);
        Assert.True(exit == 0, $"{compose.Value.File} {string.Join(' ', compose.Value.Prefix)} config -q exited {exit}:{Environment.NewLine}{output}");

        // Secrets come only from .env: every password/token/secret in the compose file is a ${...} reference.
        var problems = new List<string>();
        foreach (var (line, n) in File.ReadLines(Path.Combine(root, "docker-compose.yml")).Select((l, i) => (l, i + 1)))
        {
            var m = SecretLine().Match(line);
            // A <Setting>File naming where a secret is mounted (SMARTCITY_Influx__TokenFile: /run/...) holds no secret.
            var isSecretFilePath = m.Success && m.Groups["key"].Value.EndsWith("File", StringComparison.OrdinalIgnoreCase) && m.Groups["value"].Value.Trim().StartsWith('/');
            if (m.Success && !isSecretFilePath && !Regex.IsMatch(m.Groups["value"].Value.Trim().Trim('"', '\''), @"^\$\{[A-Z0-9_]+(:?[?-][^}]*)?\}$"))
            {
                problems.Add($"docker-compose.yml:{n}: {m.Groups["key"].Value} has a literal value, not a ${{...}} reference");
            }
        }

        foreach (var (line, n) in File.ReadLines(Path.Combine(root, ".env.example")).Select((l, i) => (l, i + 1)))
        {
            var m = Regex.Match(line, @"^(?<key>[A-Z0-9_]*(PASSWORD|TOKEN|SECRET)[A-Z0-9_]*|[A-Z0-9_]*_KEY)=(?<value>.*)$");
            if (m.Success && !m.Groups["value"].Value.StartsWith("change-me", StringComparison.Ordinal))
            {
                problems.Add($".env.example:{n}: {m.Groups["key"].Value} must be a change-me placeholder");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [GeneratedRegex(@"^\s*(?:-\s*)?(?<key>[A-Za-z0-9_]*(?:PASSWORD|TOKEN|SECRET)[A-Za-z0-9_]*|[A-Za-z0-9_]*KEY)\s*[:=]\s*(?<value>.+)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLine();

    private static async Task<(string File, string[] Prefix)?> FindComposeAsync()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            if (File.Exists(Path.Combine(dir, "docker-compose")))
            {
                return (Path.Combine(dir, "docker-compose"), []);
            }
        }

        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var docker = Path.Combine(dir, "docker");
            // A docker client is not enough: only "docker compose version" succeeding shows the plugin.
            if (File.Exists(docker) && (await RunAsync(docker, ["compose", "version"], RepoRoot)).Exit == 0)
            {
                return (docker, ["compose"]);
            }
        }

        return null;
    }

    private static async Task<(int Exit, string Output)> RunAsync(string file, string[] args, string workingDirectory)
    {
        var result = await ProcessRunner.RunAsync(file, args, workingDirectory);
        return (result.Exit, result.Output);
    }

    /// <summary>
    /// The YAML the provisioning files use (block mappings and sequences, plain or quoted scalars,
    /// comments). Anything else (tabs, flow collections, anchors, bad indentation) is an error.
    /// </summary>
    private static class MiniYaml
    {
        private sealed record Line(int Indent, string Text, int Number);

        public static object? Parse(string text, string name)
        {
            var lines = new List<Line>();
            var n = 0;
            foreach (var raw in text.Split('\n'))
            {
                n++;
                var l = StripComment(raw.TrimEnd('\r'));
                if (l.Trim().Length == 0)
                {
                    continue;
                }

                if (l.Contains('\t', StringComparison.Ordinal))
                {
                    throw Error(name, n, "tab character");
                }

                var indent = l.Length - l.TrimStart(' ').Length;
                lines.Add(new Line(indent, l.Trim(), n));
            }

            var i = 0;
            var result = Block(lines, ref i, lines.Count > 0 ? lines[0].Indent : 0, name);
            if (i != lines.Count)
            {
                throw Error(name, lines[i].Number, "unexpected indentation");
            }

            return result;
        }

        private static object? Block(List<Line> lines, ref int i, int indent, string name)
        {
            if (i >= lines.Count)
            {
                return null;
            }

            if (lines[i].Text.StartsWith("- ", StringComparison.Ordinal) || lines[i].Text == "-")
            {
                var list = new List<object?>();
                while (i < lines.Count && lines[i].Indent == indent && (lines[i].Text.StartsWith("- ", StringComparison.Ordinal) || lines[i].Text == "-"))
                {
                    var rest = lines[i].Text.Length > 1 ? lines[i].Text[2..].TrimStart() : "";
                    var itemIndent = indent + (lines[i].Text.Length - rest.Length);
                    if (rest.Length == 0)
                    {
                        i++;
                        list.Add(i < lines.Count && lines[i].Indent > indent ? Block(lines, ref i, lines[i].Indent, name) : null);
                    }
                    else if (KeyValue(rest) is not null)
                    {
                        // "- key: value" starts a mapping whose further keys are indented like "key".
                        lines[i] = lines[i] with { Indent = itemIndent, Text = rest };
                        list.Add(Block(lines, ref i, itemIndent, name));
                    }
                    else
                    {
                        list.Add(Scalar(rest, name, lines[i].Number));
                        i++;
                    }
                }

                return list;
            }

            var map = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (i < lines.Count && lines[i].Indent == indent)
            {
                var kv = KeyValue(lines[i].Text) ?? throw Error(name, lines[i].Number, "expected 'key: value'");
                if (map.ContainsKey(kv.Key))
                {
                    throw Error(name, lines[i].Number, $"duplicate key '{kv.Key}'");
                }

                var number = lines[i].Number;
                i++;
                if (kv.Value.Length > 0)
                {
                    map[kv.Key] = Scalar(kv.Value, name, number);
                }
                else
                {
                    map[kv.Key] = i < lines.Count && (lines[i].Indent > indent || (lines[i].Indent == indent && lines[i].Text.StartsWith('-')))
                        ? Block(lines, ref i, lines[i].Indent, name)
                        : null;
                }
            }

            if (i < lines.Count && lines[i].Indent > indent)
            {
                throw Error(name, lines[i].Number, "unexpected indentation");
            }

            return map;
        }

        private static (string Key, string Value)? KeyValue(string text)
        {
            var m = Regex.Match(text, @"^(?<key>[A-Za-z0-9_.\-]+):(?:\s+(?<value>.*))?$");
            return m.Success ? (m.Groups["key"].Value, m.Groups["value"].Value.Trim()) : null;
        }

        private static string Scalar(string value, string name, int line)
        {
            if (value.Length >= 2 && ((value[0] == '"' && value[^1] == '"') || (value[0] == '\'' && value[^1] == '\'')))
            {
                return value[1..^1];
            }

            if (value[0] is '"' or '\'' or '[' or '{' or '&' or '*' or '|' or '>')
            {
                throw Error(name, line, $"unsupported or unterminated value {value}");
            }

            return value;
        }

        private static string StripComment(string line)
        {
            var quote = '\0';
            for (var i = 0; i < line.Length; i++)
            {
                var c = line[i];
                if (quote != '\0')
                {
                    if (c == quote)
                    {
                        quote = '\0';
                    }
                }
                else if (c is '"' or '\'')
                {
                    quote = c;
                }
                else if (c == '#' && (i == 0 || line[i - 1] == ' '))
                {
                    return line[..i];
                }
            }

            return line;
        }

        private static Xunit.Sdk.XunitException Error(string name, int line, string what) =>
            new($"{name}:{line.ToString(CultureInfo.InvariantCulture)}: not valid YAML ({what})");
    }
}

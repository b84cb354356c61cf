using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Observability;

/// <summary>
/// The worker's metrics and traces as a city's monitoring reads them: the Prometheus scrape endpoint and
/// OTLP to a collector. The worker runs as its own process, so its meters are the only ones exported
/// (in-process test workers share meter names).
/// </summary>
public sealed class OpenTelemetryExportTests
{
    private const int Lamps = 20;
    private const long Readings = 200;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task PrometheusEndpoint_AfterMessagesFlowed_CountsEqualPublishedAndPromtoolAccepts()
    {
        await using var db = await InfluxTestDatabase.CreateAsync();
        var topicRoot = TestServers.UniqueName("t") + "/city";
        await using var worker = await WorkerProcess.StartAsync(TestWorker.Settings(db, topicRoot, TestServers.UniqueName("worker-")));

        var published = await PublishAndWaitStoredAsync(worker, topicRoot);

        using var anonymous = TestApiKeys.Client(worker.BaseAddress, null);
        using var viewer = TestApiKeys.Client(worker.BaseAddress, TestApiKeys.Viewer);
        using (var refused = await anonymous.GetAsync(new Uri("/metrics", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var response = await viewer.GetAsync(new Uri("/metrics", UriKind.Relative));
        var scrape = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        Assert.Equal(published, Sample(scrape, "smartcity_messages_received_total"));
        Assert.Equal(published, Sample(scrape, "smartcity_messages_accepted_total"));
        Assert.Equal(published, Sample(scrape, "smartcity_points_written_total", "kind=\"telemetry\""));
        Assert.Equal(published, Sample(scrape, "smartcity_stage_received_total", "stage=\"source\""));
        // Runtime and ASP.NET Core instrumentation are exported beside the pipeline's meters.
        Assert.Contains("\ndotnet_gc_collections_total", scrape, StringComparison.Ordinal);
        Assert.Contains("\nhttp_server_request_duration_seconds_bucket", scrape, StringComparison.Ordinal);

        await PromtoolAcceptsAsync(scrape);
    }

    [Fact]
    public async Task OtlpExport_CollectorStandIn_ReceivesPipelineMetricsAndOneTracePerBatch()
    {
        await using var collector = await OtlpCollectorStandIn.StartAsync();
        await using var db = await InfluxTestDatabase.CreateAsync();
        var topicRoot = TestServers.UniqueName("t") + "/city";
        var settings = TestWorker.Settings(db, topicRoot, TestServers.UniqueName("worker-"));
        settings["OpenTelemetry:Otlp:Endpoint"] = collector.Url.ToString();
        settings["OpenTelemetry:Otlp:ExportInterval"] = "00:00:01";
        settings["OpenTelemetry:ServiceName"] = "smartcity-worker-it";
        await using var worker = await WorkerProcess.StartAsync(settings);

        var published = await PublishAndWaitStoredAsync(worker, topicRoot);

        // Counters are cumulative: a later export carries the final count.
        await collector.WaitUntilAsync(
            requests => Metrics(requests)["smartcity.messages.received"].Any(p => p.Value == published),
            Timeout,
            () => $"smartcity.messages.received points: {string.Join(", ", Metrics(collector.Requests)["smartcity.messages.received"].Select(p => p.Value))}");
        await collector.WaitUntilAsync(
            requests => Spans(requests).Any(s => s.Name == "smartcity.influx.write"),
            Timeout,
            () => $"spans: {string.Join(", ", Spans(collector.Requests).Select(s => s.Name).Distinct())}");

        Assert.All(collector.Requests, r => Assert.Equal("application/x-protobuf", r.ContentType));
        Assert.Contains(Metrics(collector.Requests)["smartcity.points.written"], p => p.Value == published && p.Attributes["kind"] == "telemetry");
        Assert.NotEmpty(Metrics(collector.Requests)["dotnet.gc.collections"]);
        var service = collector.Requests.SelectMany(r => OtlpProtobuf.Resources(r.Body)).Select(a => a.GetValueOrDefault("service.name")).Distinct();
        Assert.Equal(["smartcity-worker-it"], service);

        // One trace per batch: each write span's parent is a smartcity.batch root of its own trace, beside a smartcity.spool span.
        var spans = Spans(collector.Requests).ToList();
        var roots = spans.Where(s => s.Name == "smartcity.batch").ToList();
        Assert.NotEmpty(roots);
        Assert.All(roots, r => Assert.Equal("", r.ParentSpanId));
        Assert.Equal(roots.Count, roots.Select(r => r.TraceId).Distinct().Count());
        var write = spans.First(s => s.Name == "smartcity.influx.write");
        Assert.Contains(roots, r => r.TraceId == write.TraceId);
        Assert.Contains(spans, s => s.Name == "smartcity.spool" && s.TraceId == write.TraceId);
    }

    [Fact]
    public async Task OtlpExport_StandardOtelVariables_ExportToCollectorWithoutWorkerSettings()
    {
        await using var collector = await OtlpCollectorStandIn.StartAsync();
        await using var db = await InfluxTestDatabase.CreateAsync();
        var settings = TestWorker.Settings(db, TestServers.UniqueName("t") + "/city", TestServers.UniqueName("worker-"));
        // The OpenTelemetry SDK's own names (the worker reads configuration from its environment, so these
        // reach it as OTEL_* keys here): the SDK appends /v1/metrics itself.
        settings["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.Url.ToString();
        settings["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
        settings["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
        await using var worker = await WorkerProcess.StartAsync(settings);

        await collector.WaitUntilAsync(
            requests => Metrics(requests)["smartcity.spool.depth"].Any(),
            Timeout,
            () => $"requests: {string.Join(", ", collector.Requests.Select(r => r.Path))}");

        var service = collector.Requests.SelectMany(r => OtlpProtobuf.Resources(r.Body)).Select(a => a.GetValueOrDefault("service.name")).Distinct();
        Assert.Equal(["smartcity-worker"], service);
    }

    [Fact]
    public void ConfigurationCheck_BadOpenTelemetrySettings_NamesEachSetting()
    {
        var settings = new Dictionary<string, string?>
        {
            ["OpenTelemetry:Otlp:Endpoint"] = "collector:4318",
            ["OpenTelemetry:Otlp:ExportInterval"] = "00:00:00.100",
            ["OpenTelemetry:Prometheus:Path"] = "metrics",
        };
        using var logs = new LogCapture();
        var app = Api.ApiTestKit.Build(settings, logs);

        var failures = SmartCity.Telemetry.Diagnostics.ConfigurationCheck.ValidateAll(app.Services);

        Assert.Contains(failures, f => f.StartsWith("OpenTelemetry:Otlp:Endpoint: must be an absolute http", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("OpenTelemetry:Otlp:ExportInterval: must be between", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("OpenTelemetry:Prometheus:Path: must be a path", StringComparison.Ordinal));
    }

    /// <summary>Births and readings of a small fleet through the real broker; returns how many the worker received and stored.</summary>
    private static async Task<long> PublishAndWaitStoredAsync(WorkerProcess worker, string topicRoot)
    {
        await using var fleet = new SteadyFleet(SteadyFleet.Fleet(topicRoot, Lamps, Readings, 400), Readings, 400, TestServers.UniqueName("sim-"));
        fleet.Start();
        await fleet.CompletionAsync(Timeout);
        var total = fleet.TotalMessages;
        await worker.WaitForAsync(s => s.GetProperty("received").GetInt64() == total && s.GetProperty("pointsWritten").GetInt64() == total, Timeout);
        return total;
    }

    private static ILookup<string, OtlpProtobuf.DataPoint> Metrics(IEnumerable<(string Path, string ContentType, byte[] Body)> requests) =>
        requests.Where(r => r.Path == "/v1/metrics").SelectMany(r => OtlpProtobuf.Metrics(r.Body).SelectMany(g => g.Select(p => (g.Key, p)))).ToLookup(x => x.Key, x => x.p);

    private static IEnumerable<(string Name, string TraceId, string ParentSpanId)> Spans(IEnumerable<(string Path, string ContentType, byte[] Body)> requests) =>
        requests.Where(r => r.Path == "/v1/traces").SelectMany(r => OtlpProtobuf.Spans(r.Body));

    /// <summary>The value of the one sample of <paramref name="metric"/> whose labels contain <paramref name="label"/>.</summary>
    private static long Sample(string scrape, string metric, string label = "")
    {
        var lines = scrape.Split('\n').Where(l => (l.StartsWith(metric + "{", StringComparison.Ordinal) || l.StartsWith(metric + " ", StringComparison.Ordinal)) && l.Contains(label, StringComparison.Ordinal)).ToList();
        Assert.True(lines.Count == 1, $"{metric} {label}: {lines.Count} samples in the scrape:\n{scrape}");
        // "name{labels} value [timestamp]": the value follows the label set.
        var afterLabels = lines[0][(lines[0].LastIndexOf('}') + 1)..].Trim().Split(' ');
        return (long)double.Parse(afterLabels[0], CultureInfo.InvariantCulture);
    }

    /// <summary>Prometheus' own parser on the scrape; CI installs promtool (scripts/servers.sh), elsewhere it may be missing.</summary>
    private static async Task PromtoolAcceptsAsync(string scrape)
    {
        if (!File.Exists("/usr/bin/promtool"))
        {
            Assert.False(Environment.GetEnvironmentVariable("CI") == "true", "promtool missing in CI: scripts/servers.sh installs the prometheus package as root");
            return;
        }

        var start = new ProcessStartInfo("/usr/bin/promtool", ["check", "metrics"]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
        using var promtool = Process.Start(start)!;
        var output = promtool.StandardOutput.ReadToEndAsync();
        var errors = promtool.StandardError.ReadToEndAsync();
        await promtool.StandardInput.WriteAsync(scrape);
        promtool.StandardInput.Close();
        await promtool.WaitForExitAsync(new CancellationTokenSource(Timeout).Token);
        // Exit 0: no errors. Lint findings (exit 3) are style advice, and reported in full if the parse fails.
        Assert.True(promtool.ExitCode is 0 or 3, $"promtool check metrics exited {promtool.ExitCode}: {await output}{await errors}");
        Assert.DoesNotContain("error while linting", await output + await errors, StringComparison.Ordinal);
    }
}

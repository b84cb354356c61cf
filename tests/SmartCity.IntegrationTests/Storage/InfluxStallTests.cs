using System.Diagnostics;
using System.Net;
using System.Text.Json;
using SmartCity.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace SmartCity.IntegrationTests.Storage;

/// <summary>A hung InfluxDB: the connection is accepted and never answered (like a SIGSTOPped influxd).</summary>
public sealed class InfluxStallTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Healthz_InfluxAcceptsButNeverAnswers_ShowsStallThenTimeoutInPlainWords()
    {
        await using var influx = new RawHttpEndpoint(response: null);
        await using var db = await InfluxTestDatabase.CreateAsync();
        await using var worker = await TestWorker.StartAsync(db, overrides: new Dictionary<string, string?>
        {
            ["Influx:Url"] = influx.Url.ToString(),
            // Long enough that the stall report (after 2 s without an answer) surely comes first, even on
            // a loaded machine: the test checks the order of the two reports, not how many seconds apart.
            ["Influx:WriteTimeout"] = "00:00:30",
            // A failed write waits 5 minutes before its retry: storage resuming within the wait below can
            // only be the probe's doing (it pings every second and retries as soon as the database answers).
            ["Influx:RetryBaseDelay"] = "00:05:00",
            ["Influx:RetryMaxDelay"] = "00:10:00",
            // Its own counters reach the sink within a second: a write with no device needed.
            ["PipelineReport:Interval"] = "00:00:01",
        });
        using var viewer = worker.CreateClient(TestApiKeys.Viewer);

        await influx.WaitForRequestsAsync(1, TimeSpan.FromSeconds(60));
        var stalledAt = Stopwatch.StartNew();
        // While the write is still waiting for its answer, /healthz already says the database does not answer...
        var stalled = await DegradedHealthAsync(viewer, "no answer");
        var reportedAfter = stalledAt.Elapsed;
        Assert.Contains("InfluxDB not answering", stalled.GetProperty("problems")[0].GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("timed out", stalled.ToString(), StringComparison.Ordinal);
        // ...and once it has timed out, it says so, not "The operation was canceled.".
        var timedOut = await DegradedHealthAsync(viewer, "timed out");
        Assert.Contains(timedOut.GetProperty("details").EnumerateArray(), d => d.GetString() == "InfluxDB write timed out after 30 s");
        Assert.DoesNotContain("canceled", timedOut.ToString(), StringComparison.OrdinalIgnoreCase);
        output.WriteLine($"FIGURES stall: /healthz degraded {reportedAfter.TotalSeconds:F1} s after the first unanswered write (write timeout 30 s)");

        // The database answers again (writes and /ping alike) while the failed write waits out its 5-minute backoff.
        influx.AnswerWith(RawHttpEndpoint.Response(204, "No Content"));
        var back = Stopwatch.StartNew();
        await worker.Metrics.WaitUntilAsync(s => !s.SinkBlocked && s.SpoolDepth == 0, TimeSpan.FromSeconds(120));
        output.WriteLine($"FIGURES stall: storage resumed {back.Elapsed.TotalSeconds:F1} s after the database answered again (retry backoff 5 min)");
    }

    /// <summary>Polls /healthz until it answers 503 with <paramref name="marker"/> in a detail; returns the body.</summary>
    private static async Task<JsonElement> DegradedHealthAsync(HttpClient client, string marker)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        while (true)
        {
            using (var response = await client.GetAsync(new Uri("/healthz", UriKind.Relative), cts.Token))
            {
                var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cts.Token)).RootElement.Clone();
                if (response.StatusCode == HttpStatusCode.ServiceUnavailable
                    && body.GetProperty("details").EnumerateArray().Any(d => d.GetString()!.Contains(marker, StringComparison.Ordinal)))
                {
                    return body;
                }
            }

            await Task.Delay(50, cts.Token);
        }
    }
}

using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Diagnostics;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>
/// Before the sink writes anything: does <c>Influx:Bucket</c> exist? Without this the worker looked
/// healthy until its first write was refused (issue 24). Asked with InfluxQL <c>SHOW DATABASES</c>
/// on <c>/query</c>, which InfluxDB 1.x, 2.x (its DBRP mappings) and 3.x all answer; the v2 bucket
/// API does not exist on 1.x. A missing database is created when <c>Influx:CreateBucket</c> allows
/// it (<c>CREATE DATABASE</c>, 1.x), and otherwise reported in /healthz and a Critical log, checked
/// again every <c>Influx:RetryMaxDelay</c> while the data waits in the spool.
/// </summary>
public sealed partial class InfluxDatabaseCheck(
    IOptions<InfluxSinkOptions> options,
    PipelineMetrics metrics,
    TimeProvider time,
    ILogger<InfluxDatabaseCheck> logger) : IDisposable
{
    private readonly InfluxSinkOptions _options = options.Value;
    private readonly HttpClient _http = CreateClient(options.Value);

    private static HttpClient CreateClient(InfluxSinkOptions o)
    {
        var http = new HttpClient { BaseAddress = new Uri(o.Url!.TrimEnd('/') + "/"), Timeout = o.WriteTimeout };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Token", o.Token);
        return http;
    }

    /// <summary>
    /// Returns once the database exists (created if allowed), or at once when the check itself
    /// cannot be made (InfluxDB down or not answering InfluxQL): then the writes' own retries and
    /// error classification take over, as before.
    /// </summary>
    public async Task WaitUntilPresentAsync(CancellationToken cancellationToken)
    {
        var bucket = _options.Bucket!;
        var reported = false;
        while (true)
        {
            var (databases, error) = await QueryAsync("SHOW DATABASES", cancellationToken).ConfigureAwait(false);
            if (databases is null)
            {
                LogCheckFailed(bucket, error!);
                return;
            }

            if (Names(databases).Contains(bucket, StringComparer.Ordinal))
            {
                if (reported)
                {
                    metrics.SinkBlocked(null);
                    LogFound(bucket);
                }

                return;
            }

            string problem;
            if (_options.CreateBucket)
            {
                var (created, createError) = await QueryAsync($"CREATE DATABASE \"{bucket}\"", cancellationToken).ConfigureAwait(false);
                if (created is not null && createError is null)
                {
                    LogCreated(bucket);
                    continue; // and see it listed
                }

                problem = $"bucket '{bucket}' not found in InfluxDB, and creating it failed ({createError}): create it";
            }
            else
            {
                problem = $"bucket '{bucket}' not found in InfluxDB: create it, or set Influx:CreateBucket=true";
            }

            // Anonymous /healthz shows only the class; the bucket and server message are details for key holders.
            metrics.SinkBlocked(problem, "InfluxDB bucket not found");
            if (!reported)
            {
                LogMissing(problem, _options.RetryMaxDelay);
                reported = true;
            }

            await Task.Delay(_options.RetryMaxDelay, time, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The statement's first result, or why there is none (transport, status or InfluxQL error).</summary>
    private async Task<(JsonElement? Result, string? Error)> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new FormUrlEncodedContent([new("q", influxQl)]);
            using var response = await _http.PostAsync(new Uri("query", UriKind.Relative), content, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"{(int)response.StatusCode} {Shorten(body)}");
            }

            using var document = JsonDocument.Parse(body);
            var result = document.RootElement.GetProperty("results")[0].Clone();
            return result.TryGetProperty("error", out var error) ? (result, error.GetString()) : (result, null);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException
                                   || (ex is TaskCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return (null, ex.Message);
        }
    }

    private static IEnumerable<string?> Names(JsonElement? result) =>
        result is { } r && r.TryGetProperty("series", out var series)
            ? series.EnumerateArray().SelectMany(s => s.TryGetProperty("values", out var values) ? values.EnumerateArray().Select(v => v[0].GetString()) : [])
            : [];

    private static string Shorten(string text) => text.Length <= 200 ? text.Trim() : text[..200] + "...";

    public void Dispose() => _http.Dispose();

    [LoggerMessage(EventId = 2010, Level = LogLevel.Critical, Message = "{Problem}. Nothing is stored until it exists (data waits in the spool); checking again every {Delay}")]
    private partial void LogMissing(string problem, TimeSpan delay);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "InfluxDB database '{Bucket}' created (Influx:CreateBucket)")]
    private partial void LogCreated(string bucket);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "InfluxDB database '{Bucket}' found; storing resumes")]
    private partial void LogFound(string bucket);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Could not check that InfluxDB database '{Bucket}' exists ({Error}); writing anyway, the writes report what goes wrong")]
    private partial void LogCheckFailed(string bucket, string error);
}

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
    private readonly InfluxQlClient _client = new(options.Value.Url!, options.Value.Bucket, options.Value.Token, options.Value.WriteTimeout);

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

    /// <summary>The statement's series (none when InfluxDB refused it), or why there is no answer (transport, status or InfluxQL error).</summary>
    private async Task<(IReadOnlyList<InfluxQlSeries>? Series, string? Error)> QueryAsync(string influxQl, CancellationToken cancellationToken)
    {
        var answer = await _client.ServerQueryAsync(influxQl, cancellationToken).ConfigureAwait(false);
        return answer.Failure switch
        {
            null => (answer.Series, null),
            { Kind: InfluxQlFailureKind.Refused } f => (answer.Series, f.Message),
            { Kind: InfluxQlFailureKind.Status } f => (null, $"{(int)f.Status!} {Shorten(f.Body)}"),
            var f => (null, f.Message),
        };
    }

    // SHOW DATABASES: one series, a row per database, its name first.
    private static IEnumerable<string?> Names(IReadOnlyList<InfluxQlSeries> series) =>
        series.SelectMany(s => s.Rows.Select(row => row[0].GetString()));

    private static string Shorten(string text) => text.Length <= 200 ? text.Trim() : text[..200] + "...";

    public void Dispose() => _client.Dispose();

    [LoggerMessage(EventId = 2010, Level = LogLevel.Critical, Message = "{Problem}. Nothing is stored until it exists (data waits in the spool); checking again every {Delay}")]
    private partial void LogMissing(string problem, TimeSpan delay);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "InfluxDB database '{Bucket}' created (Influx:CreateBucket)")]
    private partial void LogCreated(string bucket);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Information, Message = "InfluxDB database '{Bucket}' found; storing resumes")]
    private partial void LogFound(string bucket);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Warning, Message = "Could not check that InfluxDB database '{Bucket}' exists ({Error}); writing anyway, the writes report what goes wrong")]
    private partial void LogCheckFailed(string bucket, string error);
}

using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Api.Service;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>Writes line-protocol points (nanosecond precision) to the time-series database, all or nothing per call.</summary>
public interface IPointWriter
{
    /// <summary>
    /// Writes one request body: UTF-8 lines, each followed by '\n' (<see cref="Buffering.SpoolBatch.LinesMemory"/>).
    /// The memory is only read, and only until the returned task completes: a pooled buffer may be
    /// reused afterwards. Failures are InfluxDB.Client's <c>HttpException</c> (see <see cref="WriteErrorClassifier"/>).
    /// </summary>
    Task WriteAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken);

    /// <summary>
    /// A cheap probe (<c>/ping</c>): true when the database answers. Between retries of a failed write
    /// it lets the sink retry as soon as the database is back instead of sitting out a long backoff.
    /// </summary>
    Task<bool> PingAsync(CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IPointWriter"/> on InfluxDB.Client's low-level write service (InfluxDB 2.x, 3.x, or 1.x
/// behind a shim). Not WriteApiAsync: that takes a string per line, joins them into one string and
/// encodes it again (about 1.3 KB allocated per line); the body here is posted as it lies in the spool.
/// The service comes from the client, so it shares its token, timeout and exception factory.
/// The body is not copied: <see cref="PooledBodyHandler"/> posts the caller's memory (the spool batch's
/// pooled buffer) in place of the whole-array body the service takes.
/// </summary>
public sealed class InfluxPointWriter : IPointWriter, IDisposable
{
    private readonly InfluxDBClient _client;
    private static readonly byte[] Placeholder = [];

    private readonly WriteService _writeService;
    private readonly PooledBodyHandler _bodyHandler;
    private readonly HttpClient _http;
    private readonly string _bucket;
    private readonly string _org;

    public InfluxPointWriter(IOptions<InfluxSinkOptions> options)
        : this(options, new SocketsHttpHandler())
    {
    }

    /// <summary>With the HTTP handler under the body swap (tests give one that records what is sent).</summary>
    internal InfluxPointWriter(IOptions<InfluxSinkOptions> options, HttpMessageHandler transport)
    {
        var o = options.Value;
        _bodyHandler = new PooledBodyHandler(transport);
        // The client's own per-request timeout stays in force; this one only backs it up.
        _http = new HttpClient(_bodyHandler) { Timeout = o.WriteTimeout + TimeSpan.FromSeconds(5) };
        _bucket = o.Bucket!;
        _org = o.Org!;
        _client = new InfluxDBClient(new InfluxDBClientOptions(o.Url!)
        {
            Token = o.Token,
            Org = o.Org,
            Bucket = o.Bucket,
            Timeout = o.WriteTimeout,
            HttpClient = _http,
        });
        _writeService = _client.CreateService<WriteService>(typeof(WriteService));
    }

    public async Task WriteAsync(ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        // Set inside this async method, the value flows into the client's call below and is gone for
        // the caller when it returns.
        var pending = new PendingBody(body);
        _bodyHandler.Body.Value = pending;
        await PostAsync(cancellationToken).ConfigureAwait(false);
        if (!pending.Sent)
        {
            // The client answered without its request passing the handler (a client version that no
            // longer uses the given HttpClient): it posted the empty placeholder, so the lines were
            // not stored. Failing as a bug stops the sink with the batch still in the spool.
            throw new InvalidOperationException("InfluxDB.Client sent the write without the writer's HttpClient: the body was not posted");
        }
    }

    private Task PostAsync(CancellationToken cancellationToken) =>
        _writeService.PostWriteAsync(
            _org,
            _bucket,
            Placeholder,
            zapTraceSpan: null,
            contentEncoding: "identity",
            contentType: "text/plain; charset=utf-8",
            contentLength: null,
            accept: "application/json",
            orgID: null,
            precision: WritePrecision.Ns,
            cancellationToken: cancellationToken);

    public Task<bool> PingAsync(CancellationToken cancellationToken) => _client.PingAsync().WaitAsync(cancellationToken);

    public void Dispose()
    {
        _client.Dispose();
        _http.Dispose();
    }
}

using InfluxDB.Client;
using InfluxDB.Client.Api.Domain;
using Microsoft.Extensions.Options;

namespace SmartCity.Telemetry.Storage;

/// <summary>Writes line-protocol lines (nanosecond precision) to the time-series database, all or nothing per call.</summary>
public interface IPointWriter
{
    Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken);
}

/// <summary><see cref="IPointWriter"/> on InfluxDB.Client's v2 write API (InfluxDB 2.x, 3.x, or 1.x behind a shim).</summary>
public sealed class InfluxPointWriter : IPointWriter, IDisposable
{
    private readonly InfluxDBClient _client;
    private readonly WriteApiAsync _writeApi;
    private readonly string _bucket;
    private readonly string _org;

    public InfluxPointWriter(IOptions<InfluxSinkOptions> options)
    {
        var o = options.Value;
        _bucket = o.Bucket!;
        _org = o.Org!;
        _client = new InfluxDBClient(new InfluxDBClientOptions(o.Url!)
        {
            Token = o.Token,
            Org = o.Org,
            Bucket = o.Bucket,
            Timeout = o.WriteTimeout,
        });
        _writeApi = _client.GetWriteApiAsync();
    }

    public Task WriteAsync(IReadOnlyList<string> lines, CancellationToken cancellationToken) =>
        _writeApi.WriteRecordsAsync(lines, WritePrecision.Ns, _bucket, _org, cancellationToken);

    public void Dispose() => _client.Dispose();
}

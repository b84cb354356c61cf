using System.Net.Sockets;
using InfluxDB.Client.Core.Exceptions;

namespace SmartCity.Telemetry.Storage;

/// <summary>What to do after a failed write (Telegraf's outputs/influxdb_v2 classification).</summary>
public enum WriteErrorClass
{
    /// <summary>The database is down, slow or overloaded: keep the batch and retry with backoff.</summary>
    Transient,
    /// <summary>Some lines are bad (400/422): split the batch to keep the good ones and dead-letter the bad.</summary>
    BadData,
    /// <summary>The request is too large (413): split the batch.</summary>
    TooLarge,
    /// <summary>Our credentials or target are wrong (401/403/404): nothing will get through until an operator acts.</summary>
    Configuration,
}

public static class WriteErrorClassifier
{
    public static WriteErrorClass Classify(Exception exception) => exception switch
    {
        HttpException { Status: 400 or 422 } => WriteErrorClass.BadData,
        HttpException { Status: 413 } => WriteErrorClass.TooLarge,
        HttpException { Status: 401 or 403 or 404 } => WriteErrorClass.Configuration,
        // Status 0 is the client's own timeout or a broken connection; 408, 429 and 5xx are the server asking for patience.
        HttpException => WriteErrorClass.Transient,
        HttpRequestException or SocketException or IOException or TimeoutException or TaskCanceledException => WriteErrorClass.Transient,
        _ => WriteErrorClass.Transient,
    };

    /// <summary>The server's Retry-After, when it gave one.</summary>
    public static TimeSpan? RetryAfter(Exception exception) =>
        exception is HttpException { RetryAfter: { } seconds } && seconds > 0 ? TimeSpan.FromSeconds(seconds) : null;
}

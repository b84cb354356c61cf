using System.Net.Sockets;
using InfluxDB.Client.Core.Exceptions;
using Polly.Timeout;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>What to do after a failed write (Telegraf's outputs/influxdb_v2 classification).</summary>
public enum WriteErrorClass
{
    /// <summary>The database is down, slow or overloaded (429, 5xx, timeouts, network errors): keep the batch and retry with backoff.</summary>
    Transient,
    /// <summary>Some lines are bad (400/422): split the batch to keep the good ones and dead-letter the bad.</summary>
    BadData,
    /// <summary>The request is too large (413): split the batch.</summary>
    TooLarge,
    /// <summary>Our credentials or target are wrong (401/403/404): nothing will get through until an operator acts.</summary>
    Configuration,
    /// <summary>
    /// Any other 4xx: the server says the request is wrong and retrying it cannot help (Telegraf drops
    /// such a batch). Its lines are dead-lettered with the status, so the spool's head moves on.
    /// </summary>
    Rejected,
    /// <summary>
    /// Not a database answer but a bug (NullReference, InvalidOperation, Argument, Format...): retrying
    /// would spin on it forever while the spool fills, so the sink stops loudly instead.
    /// </summary>
    Fatal,
}

public static class WriteErrorClassifier
{
    public static WriteErrorClass Classify(Exception exception) => exception switch
    {
        HttpException { Status: 400 or 422 } => WriteErrorClass.BadData,
        HttpException { Status: 413 } => WriteErrorClass.TooLarge,
        HttpException { Status: 401 or 403 or 404 } => WriteErrorClass.Configuration,
        // 408 is a timeout, asking for patience like 429; every other 4xx is final for this request.
        HttpException { Status: 408 or 429 } => WriteErrorClass.Transient,
        HttpException { Status: >= 400 and < 500 } => WriteErrorClass.Rejected,
        // Status 0 is the client's own timeout or a broken connection; 5xx is the server asking for patience.
        HttpException => WriteErrorClass.Transient,
        HttpRequestException or SocketException or IOException or TimeoutException or TimeoutRejectedException
            or OperationCanceledException => WriteErrorClass.Transient,
        _ => WriteErrorClass.Fatal,
    };

    /// <summary>The server's Retry-After, when it gave one.</summary>
    public static TimeSpan? RetryAfter(Exception exception) =>
        exception is HttpException { RetryAfter: { } seconds } && seconds > 0 ? TimeSpan.FromSeconds(seconds) : null;

    /// <summary>
    /// Whether the write got no answer in time: the client's own timeout (an OperationCanceledException,
    /// bare or as the cause of a status-0 HttpException, says only "The operation was canceled.") or Polly's.
    /// </summary>
    public static bool IsTimeout(Exception exception) => exception switch
    {
        TimeoutRejectedException or TimeoutException or OperationCanceledException => true,
        HttpException { Status: 0, InnerException: { } inner } => IsTimeout(inner),
        _ => false,
    };

    /// <summary>The failure as the dead letter and the log say it: the HTTP status first when there is one.</summary>
    public static string Describe(Exception exception) =>
        exception is HttpException { Status: > 0 } http ? $"HTTP {http.Status}: {http.Message}" : exception.Message;
}

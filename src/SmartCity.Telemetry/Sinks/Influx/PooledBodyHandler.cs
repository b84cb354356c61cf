using System.Net.Http.Headers;

namespace SmartCity.Telemetry.Sinks.Influx;

/// <summary>
/// Lets InfluxDB.Client post a slice of a pooled buffer. Its <c>WriteService</c> takes the body as one
/// whole <c>byte[]</c>, so every write used to need an exact-length copy of the batch (about 1.2 MB
/// for 5,000 lines, on the large-object heap, a third of the worker's LOH churn at 100,000 devices).
/// The writer now hands the client an empty placeholder and sets <see cref="Body"/> for its own call;
/// this handler, on the HttpClient the client was given, swaps the request's content for the slice
/// just before it is sent. Everything else stays the client's: its URL and query, token, headers,
/// timeout, and the HttpException it makes of the answer (what the sink's retries classify).
/// <see cref="Body"/> flows with the write's own async call only, so concurrent writes keep their bodies
/// apart and the client's other requests (ping, health) pass unchanged.
/// </summary>
internal sealed class PooledBodyHandler : DelegatingHandler
{
    public PooledBodyHandler(HttpMessageHandler inner)
        : base(inner)
    {
    }

    /// <summary>The body of the write in progress on this async flow, or null outside a write.</summary>
    public AsyncLocal<PendingBody?> Body { get; } = new();

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Body.Value is { } pending && request.Content is { } placeholder)
        {
            request.Content = WithHeadersOf(placeholder, new ReadOnlyMemoryContent(pending.Body));
            placeholder.Dispose();
            pending.Sent = true;
        }

        return base.SendAsync(request, cancellationToken);
    }

    /// <summary>The content type and encoding the client set; the length is the slice's own.</summary>
    private static ReadOnlyMemoryContent WithHeadersOf(HttpContent placeholder, ReadOnlyMemoryContent content)
    {
        foreach (var header in placeholder.Headers)
        {
            if (!string.Equals(header.Key, "Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                content.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return content;
    }
}

/// <summary>A write's body, and whether the handler put it into the request (the writer checks).</summary>
internal sealed class PendingBody(ReadOnlyMemory<byte> body)
{
    public ReadOnlyMemory<byte> Body { get; } = body;

    public bool Sent { get; set; }
}

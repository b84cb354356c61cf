using System.Collections.Concurrent;
using System.Net;
using System.Text;
using InfluxDB.Client.Core.Exceptions;
using Microsoft.Extensions.Options;
using SmartCity.Telemetry.Sinks.Influx;

namespace SmartCity.Telemetry.Tests.Storage;

/// <summary>
/// The writer posts the caller's memory (a slice of the spool batch's pooled buffer) through
/// InfluxDB.Client without an array of its own, and the request is otherwise still the client's.
/// The transport records what would go on the wire; the real database is in the integration tests
/// (InfluxPointWriterTests).
/// </summary>
public sealed class InfluxPointWriterBodyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(1);

    private static InfluxPointWriter Writer(HttpMessageHandler transport) => new(
        Options.Create(new InfluxSinkOptions { Url = "http://influx.test:8086", Token = "secret-token", Org = "city", Bucket = "telemetry" }),
        transport);

    [Fact]
    public async Task WriteAsync_SliceOfLargerBuffer_PostsExactlyTheSliceAsTheClientsRequest()
    {
        var transport = new RecordingTransport();
        using var writer = Writer(transport);
        // A body past the large-object threshold in the middle of a bigger (pooled-like) buffer.
        var lines = string.Concat(Enumerable.Range(0, 600).Select(i => $"street_light,device_id=lamp-{i:0000},district=Zürich power_w={i}.5 {1_764_367_200_000_000_000L + i}\n"));
        var buffer = new byte[Encoding.UTF8.GetByteCount(lines) + 200_000];
        var written = Encoding.UTF8.GetBytes(lines, buffer.AsSpan(100_000));

        await writer.WriteAsync(buffer.AsMemory(100_000, written), CancellationToken.None);

        var request = Assert.Single(transport.Requests);
        Assert.Equal(lines, Encoding.UTF8.GetString(request.Body));
        Assert.Equal(written, request.ContentLength);
        Assert.Equal(nameof(ReadOnlyMemoryContent), request.ContentType);
        Assert.Equal("text/plain; charset=utf-8", request.MediaType);
        Assert.Equal("Token secret-token", request.Authorization);
        Assert.Equal(HttpMethod.Post, request.Method);
        Assert.Equal("/api/v2/write", request.Uri.AbsolutePath);
        Assert.Contains("org=city", request.Uri.Query, StringComparison.Ordinal);
        Assert.Contains("bucket=telemetry", request.Uri.Query, StringComparison.Ordinal);
        Assert.Contains("precision=ns", request.Uri.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WriteAsync_TwoConcurrentWrites_EachPostsItsOwnBody()
    {
        var transport = new RecordingTransport { HoldUntilTwo = true };
        using var writer = Writer(transport);

        // Both requests are in the transport at once before either is answered.
        await Task.WhenAll(
            writer.WriteAsync(Encoding.UTF8.GetBytes("m,k=a f=1 1\n"), CancellationToken.None),
            writer.WriteAsync(Encoding.UTF8.GetBytes("m,k=b f=2 2\n"), CancellationToken.None)).WaitAsync(Timeout);

        Assert.Equal(["m,k=a f=1 1\n", "m,k=b f=2 2\n"], transport.Requests.Select(r => Encoding.UTF8.GetString(r.Body)).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task WriteAsync_DatabaseRefuses_ClientsHttpExceptionWithStatus()
    {
        var transport = new RecordingTransport { Status = HttpStatusCode.BadRequest };
        using var writer = Writer(transport);

        var ex = await Assert.ThrowsAnyAsync<HttpException>(() => writer.WriteAsync(Encoding.UTF8.GetBytes("bad 1\n"), CancellationToken.None));

        Assert.Equal(400, ex.Status);
        Assert.Equal(WriteErrorClass.BadData, WriteErrorClassifier.Classify(ex));
        Assert.Equal("bad 1\n", Encoding.UTF8.GetString(Assert.Single(transport.Requests).Body));
    }

    [Fact]
    public async Task PingAsync_AfterAWrite_PassesUnchanged()
    {
        var transport = new RecordingTransport();
        using var writer = Writer(transport);
        await writer.WriteAsync(Encoding.UTF8.GetBytes("m f=1 1\n"), CancellationToken.None);

        Assert.True(await writer.PingAsync(CancellationToken.None));

        var ping = transport.Requests.Last();
        Assert.Equal("/ping", ping.Uri.AbsolutePath);
        Assert.NotEqual(nameof(ReadOnlyMemoryContent), ping.ContentType);
        Assert.Empty(ping.Body);
    }

    private sealed record SentRequest(HttpMethod Method, Uri Uri, string? Authorization, string ContentType, string? MediaType, long? ContentLength, byte[] Body);

    private sealed class RecordingTransport : HttpMessageHandler
    {
        private readonly TaskCompletionSource _two = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _count;

        public ConcurrentQueue<SentRequest> Requests { get; } = new();

        public bool HoldUntilTwo { get; init; }

        public HttpStatusCode Status { get; init; } = HttpStatusCode.NoContent;

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = request.Content;
            var body = content is null ? [] : await content.ReadAsByteArrayAsync(cancellationToken);
            Requests.Enqueue(new SentRequest(
                request.Method,
                request.RequestUri!,
                request.Headers.TryGetValues("Authorization", out var auth) ? string.Join(",", auth) : null,
                content?.GetType().Name ?? "none",
                content?.Headers.ContentType?.ToString(),
                content?.Headers.ContentLength,
                body));
            if (HoldUntilTwo)
            {
                if (Interlocked.Increment(ref _count) == 2)
                {
                    _two.TrySetResult();
                }

                await _two.Task.WaitAsync(Timeout, cancellationToken);
            }

            return new HttpResponseMessage(Status)
            {
                Content = Status == HttpStatusCode.NoContent ? null : new StringContent("""{"code":"invalid","message":"unable to parse"}""", Encoding.UTF8, "application/json"),
            };
        }
    }
}

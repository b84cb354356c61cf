using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>
/// A loopback TCP endpoint speaking just enough HTTP/1.1 to play a broken InfluxDB: it reads each
/// request whole, then answers it with a fixed raw response, or, while stalled, never answers (a
/// hung database: the connection is accepted and stays silent, like a SIGSTOPped influxd).
/// </summary>
public sealed class RawHttpEndpoint : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private volatile string? _response;
    private int _requests;
    private readonly System.Collections.Concurrent.ConcurrentQueue<(string Line, string Body)> _received = new();
    private TaskCompletionSource _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="response">The raw answer (status line, headers, blank line, body); null = stall.</param>
    public RawHttpEndpoint(string? response)
    {
        _response = response;
        _listener.Start();
        Url = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Url { get; }

    /// <summary>Requests read whole so far (answered or not).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Each request read whole so far, in arrival order: its request line ("POST /api/v2/write?... HTTP/1.1") and body.</summary>
    public IReadOnlyList<(string Line, string Body)> Received => [.. _received];

    /// <summary>From now on requests get <paramref name="response"/> (null: they stall). Stalled ones stay stalled.</summary>
    public void AnswerWith(string? response) => _response = response;

    /// <summary>A bodiless HTTP/1.1 answer that closes the connection.</summary>
    public static string Response(int status, string reason, params string[] headers) =>
        $"HTTP/1.1 {status} {reason}\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "Content-Length: 0\r\nConnection: close\r\n\r\n";

    public async Task WaitForRequestsAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task next;
            lock (_listener)
            {
                if (_requests >= count)
                {
                    return;
                }

                next = _requested.Task;
            }

            await next.WaitAsync(cts.Token);
        }
    }

    private async Task AcceptAsync()
    {
        var connections = new List<Task>();
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                connections.Add(ServeAsync(client));
            }
        }
        catch (OperationCanceledException)
        {
        }

        await Task.WhenAll(connections);
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        try
        {
            var stream = client.GetStream();
            var request = await ReadRequestAsync(stream);
            TaskCompletionSource signal;
            lock (_listener)
            {
                _received.Enqueue(request);
                _requests++;
                signal = _requested;
                _requested = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            signal.TrySetResult();
            if (_response is not { } response)
            {
                await Task.Delay(Timeout.Infinite, _stop.Token);
                return;
            }

            await stream.WriteAsync(Encoding.ASCII.GetBytes(response), _stop.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException)
        {
            // Stopped, or the client gave up (its timeout): nothing to answer.
        }
    }

    /// <summary>Reads the headers and a Content-Length body, so the answer never races the upload; returns the request line and body.</summary>
    private async Task<(string Line, string Body)> ReadRequestAsync(NetworkStream stream)
    {
        var buffer = new List<byte>();
        var chunk = new byte[8192];
        int headerEnd;
        while ((headerEnd = IndexOfHeaderEnd(buffer)) < 0)
        {
            var n = await stream.ReadAsync(chunk, _stop.Token);
            if (n == 0)
            {
                throw new IOException("closed before the request ended");
            }

            buffer.AddRange(chunk.AsSpan(0, n));
        }

        var headers = Encoding.ASCII.GetString(buffer.ToArray(), 0, headerEnd);
        var length = headers.Split("\r\n")
            .Where(h => h.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
            .Select(h => int.Parse(h["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
            .FirstOrDefault();
        var read = buffer.Count - (headerEnd + 4);
        while (read < length)
        {
            var n = await stream.ReadAsync(chunk, _stop.Token);
            if (n == 0)
            {
                throw new IOException("closed before the body ended");
            }

            buffer.AddRange(chunk.AsSpan(0, n));
            read += n;
        }

        var body = Encoding.UTF8.GetString(buffer.ToArray(), headerEnd + 4, buffer.Count - (headerEnd + 4));
        return (headers.Split("\r\n")[0], body);
    }

    private static int IndexOfHeaderEnd(List<byte> buffer)
    {
        for (var i = 0; i + 3 < buffer.Count; i++)
        {
            if (buffer[i] == '\r' && buffer[i + 1] == '\n' && buffer[i + 2] == '\r' && buffer[i + 3] == '\n')
            {
                return i;
            }
        }

        return -1;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}

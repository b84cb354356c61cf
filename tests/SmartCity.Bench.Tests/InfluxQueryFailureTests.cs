using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using SmartCity.Bench.Infrastructure;

namespace SmartCity.Bench.Tests;

/// <summary>
/// A busy influxd can end a query's answer early. The memory phase's device count then failed
/// with an HttpIOException that its catch did not name, and the whole benchmark crashed; now such
/// a failure is reported (<see cref="Influx.IsQueryFailure"/>) and the run goes on.
/// </summary>
public sealed class InfluxQueryFailureTests
{
    [Fact]
    public async Task ScalarAsync_AnswerCutShort_FailsWithAnExceptionTheBenchReports()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            // Headers promise 4,000 bytes; 13 come, then the connection closes, as when influxd gives up.
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var request = new StringBuilder();
            var buffer = new byte[4096];
            while (!request.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    return;
                }

                request.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }

            await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"results\":[{"u8.ToArray());
            await stream.FlushAsync();
            client.Client.Shutdown(SocketShutdown.Both);
        });

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var influx = new Influx(http, $"http://127.0.0.1:{port}");
        var ex = await Record.ExceptionAsync(() => influx.ScalarAsync("bench_x", "SHOW TAG VALUES EXACT CARDINALITY FROM street_light WITH KEY = \"device_id\""));
        await server.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.NotNull(ex);
        Assert.True(Influx.IsQueryFailure(ex), $"{ex.GetType().FullName} is not reported as a failed query: {ex.Message}");
        // The catch before the fix: this answer escaped it.
        Assert.False(ex is InvalidOperationException or HttpRequestException or JsonException or KeyNotFoundException,
            $"{ex.GetType().FullName} was already caught before the fix; the test no longer reproduces the crash");
    }
}

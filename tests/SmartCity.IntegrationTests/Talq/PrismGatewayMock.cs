using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using SmartCity.IntegrationTests.Infrastructure;

namespace SmartCity.IntegrationTests.Talq;

/// <summary>
/// A TALQ gateway stand-in built from the official gateway OpenAPI file: Prism's mock in validating mode
/// (<c>--errors</c>: a request its schemas refuse gets 422). Prism is installed once per machine into a
/// temp folder (pinned version, npm), or taken from SMARTCITY_TEST_PRISM; nothing lands in the repository.
/// </summary>
public sealed class PrismGatewayMock : IAsyncDisposable
{
    public const string Version = "5.16.0";
    private static readonly SemaphoreSlim InstallGate = new(1, 1);
    private readonly Process _process;

    private PrismGatewayMock(Process process, Uri baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public static async Task<PrismGatewayMock> StartAsync()
    {
        var prism = await PrismAsync();
        var port = FreePort();
        var start = new ProcessStartInfo(prism) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = TalqContract.Directory };
        foreach (var arg in new[] { "mock", "-h", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--errors", TalqContract.Gateway })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("prism did not start");
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }

            if (e.Data?.Contains("Prism is listening", StringComparison.Ordinal) == true)
            {
                listening.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var mock = new PrismGatewayMock(process, new Uri($"http://127.0.0.1:{port}/"));
        try
        {
            // Prism parses the 4 MB data model first: on a loaded 2-core machine that takes a while.
            await Task.WhenAny(listening.Task, process.WaitForExitAsync()).WaitAsync(TimeSpan.FromSeconds(180));
            if (process.HasExited)
            {
                throw new InvalidOperationException("prism exited: " + output);
            }
        }
        catch
        {
            await mock.DisposeAsync();
            throw;
        }

        return mock;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static async Task<string> PrismAsync()
    {
        if (Environment.GetEnvironmentVariable("SMARTCITY_TEST_PRISM") is { Length: > 0 } configured)
        {
            return configured;
        }

        var dir = Path.Combine(Path.GetTempPath(), $"smartcity-prism-{Version}");
        var prism = Path.Combine(dir, "node_modules", ".bin", "prism");
        await InstallGate.WaitAsync();
        try
        {
            if (!File.Exists(prism))
            {
                var result = await ProcessRunner.RunAsync("npm", ["install", "--prefix", dir, "--no-audit", "--no-fund", $"@stoplight/prism-cli@{Version}"], Path.GetTempPath(), timeout: TimeSpan.FromMinutes(8));
                Assert.True(result.Exit == 0 && File.Exists(prism), "npm install of @stoplight/prism-cli failed: " + result.Output);
            }
        }
        finally
        {
            InstallGate.Release();
        }

        return prism;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

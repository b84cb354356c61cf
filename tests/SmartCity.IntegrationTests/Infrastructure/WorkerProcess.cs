using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>The worker as its own OS process (the real binary), for tests that kill it.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly HttpClient _http;
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _output;

    private WorkerProcess(Process process, int port, System.Collections.Concurrent.ConcurrentQueue<string> output)
    {
        _process = process;
        _output = output;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        _http = TestApiKeys.Client(BaseAddress, TestApiKeys.Viewer);
        // Generous: a worker replaying its spool on a loaded 2-core machine can take seconds to answer, and the
        // callers poll /healthz and the API in loops that have their own deadlines (5 s failed those loops at once).
        _http.Timeout = TimeSpan.FromSeconds(60);
    }

    public Uri BaseAddress { get; }

    /// <summary>Its process id (for /proc figures such as its peak RSS).</summary>
    public int Pid => _process.Id;

    /// <summary>Its console output so far (the first <see cref="KeptLines"/> lines of stdout and stderr).</summary>
    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>
    /// <see cref="TestWorker.Settings"/> for a worker in its own process: its port is chosen at launch, and it
    /// logs warnings and errors only (its output is kept to explain a failure).
    /// </summary>
    public static Dictionary<string, string?> Settings(InfluxTestDatabase db, string topicRoot, string clientId)
    {
        var settings = TestWorker.Settings(db, topicRoot, clientId);
        settings.Remove("Urls");
        settings["Logging:LogLevel:Default"] = "Warning";
        return settings;
    }

    /// <summary>
    /// Starts the worker without waiting for it to connect: for tests that expect it to exit.
    /// <paramref name="workingDirectory"/>: where it is started from (default: its own folder).
    /// </summary>
    public static WorkerProcess Launch(IDictionary<string, string?> settings, string? workingDirectory = null) =>
        Launch(settings, new System.Collections.Concurrent.ConcurrentQueue<string>(), workingDirectory);

    /// <summary>Waits for the worker to exit by itself and returns its exit code (its output is read to the end).</summary>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    /// <summary>The same output as lines: its logs, for tests that count log events.</summary>
    public IReadOnlyList<string> OutputLines => [.. _output];

    /// <summary>True once the process has ended (a crash, or a host stopped by a failed service).</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>GET <paramref name="path"/> as the test viewer: its status and body (for /healthz, which the pipeline counters do not show).</summary>
    public async Task<(System.Net.HttpStatusCode Status, string Body)> GetStatusAsync(string path)
    {
        using var response = await _http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>
    /// Starts the worker on a free port. The port is probed here and bound by the worker later: if
    /// another process took it in between, the worker exits with "address already in use" and is
    /// started again on another port.
    /// </summary>
    public static async Task<WorkerProcess> StartAsync(IDictionary<string, string?> settings, string? workingDirectory = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
            var worker = Launch(settings, output, workingDirectory);
            try
            {
                // A cold start JITs the whole ASP.NET host: on a loaded 2-core machine (load average 40-50) it did not
                // answer /api/pipeline at all within 60 s. A worker that starts promptly does not wait longer.
                await worker.WaitForAsync(s => s.GetProperty("sourceConnected").GetBoolean(), TimeSpan.FromMinutes(3));
                return worker;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
                // It exited: WaitForExitAsync also waits for the end of its output.
                await worker._process.WaitForExitAsync();
                await worker.DisposeAsync();
                if (!output.Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase)))
                {
                    throw;
                }
            }
        }
    }

    private static WorkerProcess Launch(IDictionary<string, string?> settings, System.Collections.Concurrent.ConcurrentQueue<string> output, string? workingDirectory)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "SmartCity.Worker.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var (key, value) in settings)
        {
            start.Environment["SMARTCITY_" + key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        start.Environment["SMARTCITY_Urls"] = $"http://127.0.0.1:{port}";
        var process = Process.Start(start)!;
        // Drain its output so it never blocks on a full pipe; kept to tell a lost port from other failures.
        process.OutputDataReceived += (_, e) => Keep(output, e.Data);
        process.ErrorDataReceived += (_, e) => Keep(output, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process, port, output);
    }

    private const int KeptLines = 20_000;

    private static void Keep(System.Collections.Concurrent.ConcurrentQueue<string> output, string? line)
    {
        if (line is not null && output.Count < KeptLines)
        {
            output.Enqueue(line);
        }
    }

    /// <summary>
    /// Polls /api/pipeline (as the test viewer: the settings come from <see cref="TestWorker.Settings"/>) until <paramref name="condition"/> holds: across a process boundary the
    /// API is the only signal there is.
    /// </summary>
    public async Task<JsonElement> WaitForAsync(Func<JsonElement, bool> condition, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        JsonElement last = default;
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"worker exited with {_process.ExitCode}");
            }

            try
            {
                last = await _http.GetFromJsonAsync<JsonElement>("/api/pipeline");
                if (condition(last))
                {
                    return last;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (clock.Elapsed < timeout)
            {
                // One poll outlived the HttpClient timeout: a worker replaying its spool on a loaded
                // machine answers late. The overall timeout decides, not one slow answer.
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"worker condition not met within {timeout}; last /api/pipeline: {last}");
    }

    /// <summary>
    /// Polls <paramref name="probe"/> (an InfluxDB count, a state file the worker writes) until <paramref name="until"/>
    /// holds or <paramref name="timeout"/> passes, and returns the last value for the caller's assertion. A worker
    /// that exits meanwhile ends the wait at once. Across a process boundary polling is the only signal there is.
    /// </summary>
    public async Task<T> PollUntilAsync<T>(Func<Task<T>> probe, Func<T, bool> until, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var value = await probe();
            if (until(value) || clock.Elapsed > timeout)
            {
                return value;
            }

            if (_process.HasExited)
            {
                throw new InvalidOperationException($"worker exited with {_process.ExitCode} while polling; last value: {value}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>GET <paramref name="path"/> of the operator API as the test viewer.</summary>
    public Task<JsonElement> GetAsync(string path) => _http.GetFromJsonAsync<JsonElement>(path);

    /// <summary>SIGKILL: no shutdown code runs, exactly like a power cut to the process.</summary>
    public async Task KillAsync()
    {
        _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            await KillAsync();
        }

        _process.Dispose();
        _http.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string Format(long value) => value.ToString(CultureInfo.InvariantCulture);
}

using System.Diagnostics;
using System.Threading.Channels;

namespace SmartCity.Bench.Infrastructure;

/// <summary>
/// A child process (publisher, subscriber, worker, simulator) whose stdout lines are read as
/// messages (<c>READY</c>, <c>START ms</c>, <c>RESULT {json}</c>) and whose stderr goes to a log
/// file. Separate processes keep each one's CPU and memory apart in /proc.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly StreamWriter _log;
    private readonly Task _pump;

    private ChildProcess(Process process, StreamWriter log)
    {
        _process = process;
        _log = log;
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_log)
                {
                    _log.WriteLine(e.Data);
                }
            }
        };
        _process.BeginErrorReadLine();
        _pump = PumpAsync();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string LogPath { get; private init; } = "";

    /// <summary>Starts <c>dotnet DLL args</c> (or another program) with extra environment variables.</summary>
    public static ChildProcess Start(string program, IEnumerable<string> args, string logPath, IReadOnlyDictionary<string, string>? environment = null, string? workingDirectory = null)
    {
        var info = new ProcessStartInfo(program, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        log.WriteLine($"=== {DateTimeOffset.UtcNow:O} {program} {string.Join(' ', info.ArgumentList)}");
        var process = Process.Start(info) ?? throw new InvalidOperationException($"cannot start {program}");
        return new ChildProcess(process, log) { LogPath = logPath };
    }

    public static ChildProcess StartDotnet(string dll, IEnumerable<string> args, string logPath, IReadOnlyDictionary<string, string>? environment = null) =>
        Start("dotnet", new[] { dll }.Concat(args), logPath, environment);

    private async Task PumpAsync()
    {
        while (await _process.StandardOutput.ReadLineAsync() is { } line)
        {
            lock (_log)
            {
                _log.WriteLine("stdout: " + line);
            }

            await _lines.Writer.WriteAsync(line);
        }

        _lines.Writer.TryComplete();
    }

    /// <summary>Waits for the next stdout line starting with <paramref name="prefix"/> (other lines are skipped) and returns the rest of it.</summary>
    public async Task<string> WaitForAsync(string prefix, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _lines.Reader.WaitToReadAsync(cts.Token))
            {
                while (_lines.Reader.TryRead(out var line))
                {
                    if (line.StartsWith(prefix, StringComparison.Ordinal))
                    {
                        return line[prefix.Length..].Trim();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"no '{prefix}' line from pid {Pid} within {timeout.TotalSeconds:F0} s (log: {LogPath})");
        }

        throw new InvalidOperationException($"pid {Pid} exited (code {ExitCodeOrNull()}) before printing '{prefix}' (log: {LogPath})");
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"pid {Pid} still running after {timeout.TotalSeconds:F0} s (log: {LogPath})");
        }

        await _pump;
        return _process.ExitCode;
    }

    /// <summary>SIGTERM (a graceful stop), then SIGKILL after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", Pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            if (kill is not null)
            {
                await kill.WaitForExitAsync();
            }
        }

        using var cts = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    /// <summary>
    /// Closes the child's stdin. The benchmark's own children (publisher, subscriber) wait for this
    /// after their RESULT, so their CPU time can still be read from /proc when the window closes.
    /// </summary>
    public void Release()
    {
        try
        {
            _process.StandardInput.Close();
        }
        catch (IOException)
        {
        }
    }

    private int? ExitCodeOrNull() => _process.HasExited ? _process.ExitCode : null;

    public async ValueTask DisposeAsync()
    {
        Release();
        if (!_process.HasExited)
        {
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }

        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        try
        {
            await _pump.WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (TimeoutException)
        {
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }
}

using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SmartCity.IntegrationTests.Infrastructure;

/// <summary>Keeps the worker's log entries so a test can assert on them (MQTTnet's tests fail on any unexpected error log).</summary>
public sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<(LogLevel Level, string Category, int EventId, string Message)> _entries = new();

    public IReadOnlyList<(LogLevel Level, string Category, int EventId, string Message)> Entries => [.. _entries];

    public IEnumerable<string> AtLeast(LogLevel level) => _entries.Where(e => e.Level >= level).Select(e => $"{e.Level} {e.Category}: {e.Message}");

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    /// <summary>Waits until <paramref name="condition"/> holds on the entries, re-checking after each new one.</summary>
    public Task WaitForAsync(Func<IReadOnlyList<(LogLevel Level, string Category, int EventId, string Message)>, bool> condition, TimeSpan timeout) =>
        _logged.WaitUntilAsync(() => condition(Entries), timeout, () => "log condition; logged: " + string.Join(Environment.NewLine, AtLeast(LogLevel.Information)));

    private readonly ConditionSignal _logged = new();

    private void Add((LogLevel, string, int, string) entry)
    {
        _entries.Enqueue(entry);
        _logged.Notify();
    }

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogCapture owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add((logLevel, category, eventId.Id, formatter(state, exception) + (exception is null ? "" : " " + exception.Message)));
    }
}

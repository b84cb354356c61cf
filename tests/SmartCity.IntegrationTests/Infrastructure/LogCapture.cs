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

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogCapture owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue((logLevel, category, eventId.Id, formatter(state, exception) + (exception is null ? "" : " " + exception.Message)));
    }
}

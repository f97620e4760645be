using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Sessions.Conformance;

/// <summary>Collects the app's log entries, so a test can check that a dropped write is reported, never silently swallowed.</summary>
internal sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                sink._entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception)));
            }
        }
    }
}

/// <summary>One log entry.</summary>
internal sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message)
{
    public override string ToString() => $"{Level} {Category}[{EventId.Id}]: {Message}";
}

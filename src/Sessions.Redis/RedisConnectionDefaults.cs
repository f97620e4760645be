using StackExchange.Redis;

namespace Sessions.Redis;

/// <summary>
/// The StackExchange.Redis settings of a multiplexer the backend opens itself: fast, clear failure while Redis is down or
/// frozen instead of the library's 5000 ms defaults, and recovery without a restart.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><c>connectTimeout</c>, <c>syncTimeout</c>, <c>asyncTimeout</c>: <see cref="RedisSessionBackendOptions.ConnectTimeout"/>
/// and <see cref="RedisSessionBackendOptions.CommandTimeout"/> (1000 ms each), unless the configuration string sets them.</item>
/// <item><c>abortConnect=false</c> unless the string says otherwise: an app that starts while Redis is down starts, fails
/// session calls, and serves them as soon as Redis is up.</item>
/// <item><see cref="BacklogPolicy.FailFast"/>: while the connection is down a command fails at once rather than waiting
/// in a backlog for the whole timeout.</item>
/// <item>Reconnects with an exponential back-off from 250 ms capped at 1000 ms, so a server that is back is used again
/// within about a second.</item>
/// </list>
/// </remarks>
internal static class RedisConnectionDefaults
{
    public static ConfigurationOptions Apply(RedisSessionBackendOptions options)
    {
        var text = options.Configuration!;
        var configuration = ConfigurationOptions.Parse(text);
        var connectMs = (int)Math.Ceiling(options.ConnectTimeout.TotalMilliseconds);
        var commandMs = (int)Math.Ceiling(options.CommandTimeout.TotalMilliseconds);
        if (!Sets(text, "connectTimeout"))
        {
            configuration.ConnectTimeout = connectMs;
        }

        if (!Sets(text, "syncTimeout"))
        {
            configuration.SyncTimeout = commandMs;
        }

        if (!Sets(text, "asyncTimeout"))
        {
            configuration.AsyncTimeout = commandMs;
        }

        if (!Sets(text, "abortConnect"))
        {
            configuration.AbortOnConnectFail = false;
        }

        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ReconnectRetryPolicy = new ExponentialRetry(250, 1000);
        return configuration;
    }

    /// <summary>Whether the configuration string names <paramref name="option"/> itself (<c>name=value</c>, any case).</summary>
    private static bool Sets(string configuration, string option)
    {
        foreach (var part in configuration.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0 && part.AsSpan(0, equals).Trim().Equals(option, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

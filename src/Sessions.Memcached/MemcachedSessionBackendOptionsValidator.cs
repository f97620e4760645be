using Microsoft.Extensions.Options;
using Sessions.Memcached.Protocol;

namespace Sessions.Memcached;

/// <summary>Checks <see cref="MemcachedSessionBackendOptions"/> at start-up, with messages that say what to set.</summary>
internal sealed class MemcachedSessionBackendOptionsValidator : IValidateOptions<MemcachedSessionBackendOptions>
{
    public ValidateOptionsResult Validate(string? name, MemcachedSessionBackendOptions options) =>
        Problems(options) is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;

    /// <summary>Every problem with <paramref name="options"/>, each naming the option and what to set.</summary>
    public static List<string> Problems(MemcachedSessionBackendOptions options)
    {
        var problems = new List<string>();
        if (MemcachedServer.TryParseList(options.Servers, out var error) is null)
        {
            problems.Add($"Sessions:Memcached: {error}");
        }

        CheckPositive(problems, nameof(options.ConnectTimeout), options.ConnectTimeout);
        CheckPositive(problems, nameof(options.OperationTimeout), options.OperationTimeout);
        CheckPositive(problems, nameof(options.RetryDelay), options.RetryDelay);
        CheckPositive(problems, nameof(options.MaxRetryDelay), options.MaxRetryDelay);
        if (options.MaxRetryDelay < options.RetryDelay)
        {
            problems.Add($"Sessions:Memcached: MaxRetryDelay ({options.MaxRetryDelay}) must be at least RetryDelay ({options.RetryDelay}).");
        }

        if (options.ItemSizeLimit is < 2048 or > 1024 * 1024 * 1024)
        {
            problems.Add($"Sessions:Memcached: ItemSizeLimit must be 2048 to 1073741824 bytes (memcached's -I); it is {options.ItemSizeLimit}.");
        }

        if (options.ConnectionsPerServer is < 1 or > 64)
        {
            problems.Add($"Sessions:Memcached: ConnectionsPerServer must be 1 to 64; it is {options.ConnectionsPerServer}. Each connection pipelines any number of calls, so 1 to 4 is plenty.");
        }

        return problems;
    }

    private static void CheckPositive(List<string> problems, string name, TimeSpan value)
    {
        if (value <= TimeSpan.Zero || value > TimeSpan.FromDays(1))
        {
            problems.Add($"Sessions:Memcached: {name} must be positive and at most a day; it is {value}.");
        }
    }
}

using NUnit.Framework;

namespace Sessions.Memcached.Tests.Support;

/// <summary>
/// The memcached servers a fixture uses: started by the fixture (one-time set-up) and stopped in its one-time teardown,
/// or, when <c>SESSIONS_TEST_MEMCACHED=host:port[,host:port]</c> is set, those external servers (never stopped).
/// </summary>
internal sealed class MemcachedServers : IAsyncDisposable
{
    public const string EnvironmentVariable = "SESSIONS_TEST_MEMCACHED";

    private MemcachedServers(IReadOnlyList<string> addresses, IReadOnlyList<MemcachedProcess> processes)
    {
        Addresses = addresses;
        Processes = processes;
    }

    /// <summary><c>host:port</c> of each server.</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>The servers this fixture started (empty when external servers are used).</summary>
    public IReadOnlyList<MemcachedProcess> Processes { get; }

    public bool AreExternal => Processes.Count == 0;

    /// <summary>The <c>Servers</c> option value.</summary>
    public string Servers => string.Join(",", Addresses);

    public static string? External => Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } value ? value : null;

    /// <summary>Starts <paramref name="count"/> servers, or takes the first <paramref name="count"/> external ones (ignoring the test when there are fewer).</summary>
    public static async Task<MemcachedServers> StartAsync(int count, string? itemSizeLimit = null)
    {
        if (External is { } external)
        {
            var addresses = external.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
            if (addresses.Length < count)
            {
                Assert.Ignore($"{EnvironmentVariable} lists {addresses.Length} server(s); this fixture needs {count}.");
            }

            return new MemcachedServers(addresses[..count], []);
        }

        var processes = new List<MemcachedProcess>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                processes.Add(await MemcachedProcess.StartAsync(itemSizeLimit));
            }
        }
        catch
        {
            foreach (var process in processes)
            {
                await process.DisposeAsync();
            }

            throw;
        }

        return new MemcachedServers([.. processes.Select(p => p.Address)], processes);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in Processes)
        {
            await process.DisposeAsync();
        }
    }
}

using System.Runtime.CompilerServices;

namespace Sessions.Backends.Migration;

/// <summary>
/// The two stores of a migration seen as one for the optional capabilities: limits, key listing, purges, health probes,
/// start-up initialization and disposal each reach both stores, whichever of them supports it.
/// </summary>
internal sealed class MigrationStores(ISessionBackend from, ISessionBackend to, string fromName, string toName)
{
    private const string ProbeKey = "sessions-migration-probe";

    public ISessionBackend From => from;

    public ISessionBackend To => to;

    public string FromName => fromName;

    public string ToName => toName;

    /// <summary>The smaller of the two stores' limits, in bytes; <see cref="int.MaxValue"/> when neither states one.</summary>
    public int MaxPayloadBytes => Math.Min(LimitOf(from), LimitOf(to));

    /// <summary>Whether both stores can list their keys.</summary>
    public bool CanEnumerateKeys => from is ISessionKeyEnumerator && to is ISessionKeyEnumerator;

    /// <summary>Lists the keys of both stores, <see cref="To"/> first, each key once (the keys listed from <see cref="To"/> are held in memory).</summary>
    /// <exception cref="NotSupportedException">A store cannot list its keys.</exception>
    public async IAsyncEnumerable<string> EnumerateKeysAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var toKeys = to as ISessionKeyEnumerator ?? throw new NotSupportedException($"The session backend '{toName}' cannot list its keys.");
        var fromKeys = from as ISessionKeyEnumerator ?? throw new NotSupportedException($"The session backend '{fromName}' cannot list its keys.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var key in toKeys.EnumerateKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (seen.Add(key))
            {
                yield return key;
            }
        }

        await foreach (var key in fromKeys.EnumerateKeysAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            if (seen.Add(key))
            {
                yield return key;
            }
        }
    }

    /// <summary>Purges expired records in each store that purges; returns the number deleted in both.</summary>
    public async ValueTask<long> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        long purged = 0;
        if (from is IExpiredSessionPurger fromPurger)
        {
            purged += await fromPurger.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
        }

        if (to is IExpiredSessionPurger toPurger)
        {
            purged += await toPurger.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
        }

        return purged;
    }

    /// <summary>Initializes each store that needs it (<see cref="ISessionBackendInitializer"/>): <see cref="From"/>, then <see cref="To"/>.</summary>
    public async ValueTask InitializeAsync(CancellationToken cancellationToken)
    {
        if (from is ISessionBackendInitializer fromInitializer)
        {
            await fromInitializer.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }

        if (to is ISessionBackendInitializer toInitializer)
        {
            await toInitializer.InitializeAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Checks both stores at once, each with its own probe or with a read of a key that does not exist.</summary>
    /// <exception cref="InvalidOperationException">A store did not answer; the message names it and gives its error.</exception>
    public Task ProbeAsync(CancellationToken cancellationToken) =>
        Task.WhenAll(ProbeOneAsync(from, fromName, cancellationToken), ProbeOneAsync(to, toName, cancellationToken));

    /// <summary>Disposes both stores, <see cref="To"/> first.</summary>
    public async ValueTask DisposeAsync()
    {
        await DisposeOneAsync(to).ConfigureAwait(false);
        await DisposeOneAsync(from).ConfigureAwait(false);
    }

    /// <summary>Disposes both stores synchronously, <see cref="To"/> first; a store that is only <see cref="IAsyncDisposable"/> is waited for.</summary>
    public void Dispose()
    {
        DisposeOne(to);
        DisposeOne(from);
    }

    private static int LimitOf(ISessionBackend backend) => (backend as ISessionBackendLimits)?.MaxPayloadBytes ?? int.MaxValue;

    private static async Task ProbeOneAsync(ISessionBackend backend, string name, CancellationToken cancellationToken)
    {
        try
        {
            if (backend is ISessionBackendHealthProbe probe)
            {
                await probe.ProbeAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await backend.GetAsync(ProbeKey, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            throw new InvalidOperationException($"The session backend '{name}' of the migration does not answer: {ex.Message}", ex);
        }
    }

    private static async ValueTask DisposeOneAsync(ISessionBackend backend)
    {
        if (backend is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync().ConfigureAwait(false);
        }
        else if (backend is IDisposable disposable)
        {
            disposable.Dispose();
        }
    }

    private static void DisposeOne(ISessionBackend backend)
    {
        if (backend is IDisposable disposable)
        {
            disposable.Dispose();
        }
        else if (backend is IAsyncDisposable asyncDisposable)
        {
            asyncDisposable.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }
}

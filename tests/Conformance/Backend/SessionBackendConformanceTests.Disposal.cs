using NUnit.Framework;
using Sessions.Backends;

namespace Sessions.Conformance;

// Disposal: a disposed instance fails loudly, disposing is idempotent, and the store outlives the instance.
public abstract partial class SessionBackendConformanceTests
{
    /// <summary>After disposal every call throws <see cref="ObjectDisposedException"/>. Ignored for a backend that is not disposable.</summary>
    [Test]
    public virtual async Task Calls_after_disposal_throw_ObjectDisposedException()
    {
        var backend = await NewBackendAsync();
        var key = NewKey();
        await backend.SetAsync(key, NewRecord(LongTtl, version: 1), SetCondition.Always, Token);
        await DisposeOrIgnoreAsync(backend);

        using (Assert.EnterMultipleScope())
        {
            await Assert.ThatAsync(async () => await backend.GetAsync(key, Token), Throws.InstanceOf<ObjectDisposedException>(), "GetAsync");
            await Assert.ThatAsync(async () => await backend.SetAsync(key, NewRecord(LongTtl), SetCondition.Always, Token), Throws.InstanceOf<ObjectDisposedException>(), "SetAsync");
            await Assert.ThatAsync(async () => await backend.RemoveAsync(key, null, Token), Throws.InstanceOf<ObjectDisposedException>(), "RemoveAsync");
            await Assert.ThatAsync(async () => await backend.TouchAsync(key, Now + LongTtl, Token), Throws.InstanceOf<ObjectDisposedException>(), "TouchAsync");
        }
    }

    /// <summary>Disposing an instance twice does not throw. Ignored for a backend that is not disposable.</summary>
    [Test]
    public virtual async Task Disposing_twice_does_not_throw()
    {
        var backend = await NewBackendAsync();
        await DisposeOrIgnoreAsync(backend);

        await Assert.ThatAsync(async () => await DisposeBackendAsync(backend), Throws.Nothing, "the second dispose");
    }

    /// <summary>
    /// Disposing an instance releases only that instance: records it wrote stay readable through another instance.
    /// Ignored for a backend that is not disposable.
    /// </summary>
    [Test]
    public virtual async Task Disposing_an_instance_keeps_its_records_in_the_store()
    {
        var writer = await NewBackendAsync();
        IgnoreUnlessDisposable(writer);
        var reader = await NewBackendAsync();
        Assert.That(reader, Is.Not.SameAs(writer), "CreateBackendAsync must return a new instance per call when the backend is disposable.");
        var key = NewKey();
        var record = NewRecord(LongTtl, version: 1);
        await writer.SetAsync(key, record, SetCondition.Always, Token);

        await DisposeOrIgnoreAsync(writer);

        AssertRecord(await reader.GetAsync(key, Token), record, "the record, read through another instance after the writer was disposed");
    }

    private static async Task DisposeOrIgnoreAsync(ISessionBackend backend)
    {
        IgnoreUnlessDisposable(backend);
        await DisposeBackendAsync(backend);
    }

    private static void IgnoreUnlessDisposable(ISessionBackend backend)
    {
        if (backend is not (IAsyncDisposable or IDisposable))
        {
            Assert.Ignore($"{backend.GetType().Name} implements neither IAsyncDisposable nor IDisposable, so there is no disposal to check.");
        }
    }
}

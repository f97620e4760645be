using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Sessions.AspNetCore;

/// <summary>
/// The response body seen by the app while a session is in use: it commits the session before the first byte of the
/// response goes out, while the status and headers can still change (so a backend outage becomes a clean 503, and the
/// cookie can still be set). Output written before the commit is held (<see cref="CommitOnFlushPipeWriter"/>).
/// </summary>
internal sealed class SessionResponseBodyFeature : IHttpResponseBodyFeature
{
    private readonly SessionRequestContext _request;
    private CommitOnFlushPipeWriter? _writer;
    private CommitOnWriteStream? _stream;

    /// <summary>Puts itself in place of the request's body feature (until <see cref="Restore"/>).</summary>
    /// <param name="request">The request's session, whose commit runs before the response starts.</param>
    public SessionResponseBodyFeature(SessionRequestContext request)
    {
        _request = request;
        var features = request.HttpContext.Features;
        Inner = features.GetRequiredFeature<IHttpResponseBodyFeature>();
        features.Set<IHttpResponseBodyFeature>(this);
    }

    /// <summary>The server's own body feature.</summary>
    public IHttpResponseBodyFeature Inner { get; }

    /// <summary>Whether the session's commit for the response ran (or is running).</summary>
    public bool Committed => _request.Committed;

    public Stream Stream => _stream ??= new CommitOnWriteStream(this, Inner.Stream);

    public PipeWriter Writer => _writer ??= new CommitOnFlushPipeWriter(this, Inner.Writer);

    /// <summary>Commits the session for the response: at most once; later calls wait for the same commit.</summary>
    public Task EnsureCommittedAsync() => _request.EnsureCommittedAsync();

    /// <summary>After a successful commit: moves output the endpoint wrote before the commit into the server's pipe.</summary>
    public async ValueTask HandOnHeldOutputAsync(CancellationToken cancellationToken)
    {
        if (_writer is { HoldsOutput: true } writer)
        {
            writer.HandOn();
            await Inner.Writer.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>When the endpoint is done and the session committed: output still held goes to the server's pipe, which the server flushes.</summary>
    public void HandOnHeldOutput() => _writer?.HandOn();

    /// <summary>The commit failed before the response started: drops the held output, so the error response holds only the error.</summary>
    public void Discard() => _writer?.Discard();

    /// <summary>Puts the server's own body feature back.</summary>
    public void Restore() => _request.HttpContext.Features.Set(Inner);

    public void DisableBuffering() => Inner.DisableBuffering();

    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await EnsureCommittedAsync().ConfigureAwait(false);
        await HandOnHeldOutputAsync(cancellationToken).ConfigureAwait(false);
        await Inner.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default)
    {
        await EnsureCommittedAsync().ConfigureAwait(false);
        await HandOnHeldOutputAsync(cancellationToken).ConfigureAwait(false);
        await Inner.SendFileAsync(path, offset, count, cancellationToken).ConfigureAwait(false);
    }

    public async Task CompleteAsync()
    {
        await EnsureCommittedAsync().ConfigureAwait(false);
        HandOnHeldOutput();
        await Inner.CompleteAsync().ConfigureAwait(false);
    }
}

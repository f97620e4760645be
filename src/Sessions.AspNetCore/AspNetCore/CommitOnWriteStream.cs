namespace Sessions.AspNetCore;

/// <summary>The response body <see cref="Stream"/> seen by the app: the first asynchronous write or flush commits the session first.</summary>
internal sealed class CommitOnWriteStream(SessionResponseBodyFeature owner, Stream inner) : Stream
{
    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => inner.CanWrite;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush()
    {
        ThrowIfNotCommitted();
        inner.Flush();
    }

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        await owner.EnsureCommittedAsync().ConfigureAwait(false);
        await owner.HandOnHeldOutputAsync(cancellationToken).ConfigureAwait(false);
        await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count)
    {
        ThrowIfNotCommitted();
        inner.Write(buffer, offset, count);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        await owner.EnsureCommittedAsync().ConfigureAwait(false);
        await owner.HandOnHeldOutputAsync(cancellationToken).ConfigureAwait(false);
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    // Committing means a backend call, which is asynchronous; blocking on it here would be sync-over-async.
    private void ThrowIfNotCommitted()
    {
        if (!owner.Committed || !owner.EnsureCommittedAsync().IsCompletedSuccessfully)
        {
            throw new InvalidOperationException(
                "Synchronous writes to the response body are not supported before the session is saved. Use WriteAsync, or call "
                + "HttpContext.Response.StartAsync() first.");
        }
    }
}

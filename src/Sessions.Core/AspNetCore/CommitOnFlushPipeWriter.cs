using System.IO.Pipelines;

namespace Sessions.AspNetCore;

/// <summary>The response <see cref="PipeWriter"/> seen by the app: buffers pass through; the first flush commits the session first.</summary>
internal sealed class CommitOnFlushPipeWriter(SessionRequestContext owner, PipeWriter inner) : PipeWriter
{
    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes;

    public override void Advance(int bytes) => inner.Advance(bytes);

    public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

    public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (exception is null)
        {
            await owner.EnsureCommittedAsync().ConfigureAwait(false);
        }

        await inner.CompleteAsync(exception).ConfigureAwait(false);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        owner.Committed && owner.EnsureCommittedAsync().IsCompletedSuccessfully ? inner.FlushAsync(cancellationToken) : FlushSlowAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        owner.Committed && owner.EnsureCommittedAsync().IsCompletedSuccessfully ? inner.WriteAsync(source, cancellationToken) : WriteSlowAsync(source, cancellationToken);

    private async ValueTask<FlushResult> FlushSlowAsync(CancellationToken cancellationToken)
    {
        await owner.EnsureCommittedAsync().ConfigureAwait(false);
        return await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<FlushResult> WriteSlowAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken)
    {
        await owner.EnsureCommittedAsync().ConfigureAwait(false);
        return await inner.WriteAsync(source, cancellationToken).ConfigureAwait(false);
    }
}

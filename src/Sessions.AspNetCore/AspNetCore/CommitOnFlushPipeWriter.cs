using System.Buffers;
using System.IO.Pipelines;

namespace Sessions.AspNetCore;

/// <summary>
/// The response <see cref="PipeWriter"/> seen by the app. Until the session is committed, what the app writes is held
/// here, not in the server's pipe: the first flush commits the session, then hands the held bytes on. If the commit fails,
/// the held bytes are dropped, so the error response the middleware writes instead carries only the error.
/// </summary>
internal sealed class CommitOnFlushPipeWriter(SessionResponseBodyFeature owner, PipeWriter inner) : PipeWriter
{
    // Bytes written before the commit, in a pooled array; null once they were handed on (then everything passes through).
    private byte[]? _held = [];
    private int _heldCount;

    private bool PassThrough => _held is null;

    public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => inner.UnflushedBytes + _heldCount;

    public override void Advance(int bytes)
    {
        if (PassThrough)
        {
            inner.Advance(bytes);
            return;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes > _held!.Length - _heldCount)
        {
            throw new InvalidOperationException("Advanced past the end of the buffer returned by GetMemory/GetSpan.");
        }

        _heldCount += bytes;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => PassThrough ? inner.GetMemory(sizeHint) : Reserve(sizeHint).AsMemory(_heldCount);

    public override Span<byte> GetSpan(int sizeHint = 0) => PassThrough ? inner.GetSpan(sizeHint) : Reserve(sizeHint).AsSpan(_heldCount);

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null)
    {
        if (exception is null && owner.Committed && owner.EnsureCommittedAsync().IsCompletedSuccessfully)
        {
            HandOn();
        }
        else
        {
            Discard();
        }

        inner.Complete(exception);
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (exception is null)
        {
            await owner.EnsureCommittedAsync().ConfigureAwait(false);
            HandOn();
        }
        else
        {
            Discard();
        }

        await inner.CompleteAsync(exception).ConfigureAwait(false);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        PassThrough && owner.Committed && owner.EnsureCommittedAsync().IsCompletedSuccessfully ? inner.FlushAsync(cancellationToken) : FlushSlowAsync(cancellationToken);

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default) =>
        PassThrough && owner.Committed && owner.EnsureCommittedAsync().IsCompletedSuccessfully ? inner.WriteAsync(source, cancellationToken) : WriteSlowAsync(source, cancellationToken);

    /// <summary>After a successful commit: moves the held bytes into the server's pipe (unflushed) and passes everything through from now on.</summary>
    public void HandOn()
    {
        if (_held is not { } held)
        {
            return;
        }

        _held = null;
        if (_heldCount > 0)
        {
            inner.Write(held.AsSpan(0, _heldCount));
        }

        Return(held);
        _heldCount = 0;
    }

    /// <summary>Whether bytes written before the commit are still held here.</summary>
    public bool HoldsOutput => _heldCount > 0;

    /// <summary>After a failed commit: drops the held bytes (the endpoint's output, which must not reach the client).</summary>
    public void Discard()
    {
        if (_held is { } held)
        {
            _held = [];
            _heldCount = 0;
            Return(held);
        }
    }

    private static void Return(byte[] array)
    {
        if (array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    private byte[] Reserve(int sizeHint)
    {
        var held = _held!;
        var needed = _heldCount + Math.Max(sizeHint, 1);
        if (needed <= held.Length)
        {
            return held;
        }

        var grown = ArrayPool<byte>.Shared.Rent(Math.Max(needed, Math.Max(held.Length * 2, 512)));
        held.AsSpan(0, _heldCount).CopyTo(grown);
        Return(held);
        _held = grown;
        return grown;
    }

    private async ValueTask<FlushResult> FlushSlowAsync(CancellationToken cancellationToken)
    {
        await owner.EnsureCommittedAsync().ConfigureAwait(false);
        HandOn();
        return await inner.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask<FlushResult> WriteSlowAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken)
    {
        await owner.EnsureCommittedAsync().ConfigureAwait(false);
        HandOn();
        return await inner.WriteAsync(source, cancellationToken).ConfigureAwait(false);
    }
}

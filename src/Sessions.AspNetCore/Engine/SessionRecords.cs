using System.Diagnostics.CodeAnalysis;
using Sessions.Backends;
using Sessions.Envelope;

namespace Sessions.Engine;

/// <summary>
/// Session records over the accessor: encoding a session, decoding a record (a regenerate's "moved" tombstone is no
/// session; anything else unreadable is reported as corrupt), telling whether a session is gone or live, and putting back
/// a record a commit replaced.
/// </summary>
internal sealed class SessionRecords(BackendAccessor backend, PayloadCodec codec, TimeProvider time)
{
    /// <summary>Encodes the session's state as a record payload.</summary>
    /// <exception cref="SessionPayloadTooLargeException">The encoded session exceeds the limit.</exception>
    public byte[] Encode(SessionData session) => codec.Encode(session.ToEnvelope());

    /// <summary>Decodes a record that is known not to be a tombstone, without reporting a failure.</summary>
    public bool TryDecodeQuietly(SessionRecord record, [NotNullWhen(true)] out SessionEnvelope? envelope) =>
        codec.TryDecode(record.Payload.Span, out envelope);

    /// <summary>Decodes a record; a tombstone is no session, anything else unreadable is reported as corrupt.</summary>
    public bool TryDecode(SessionRecord record, string key, [NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        if (codec.TryDecode(record.Payload.Span, out envelope))
        {
            return true;
        }

        if (!EnvelopeCodec.IsTombstone(record.Payload.Span))
        {
            ReportCorrupt(key, record);
        }

        return false;
    }

    /// <summary>Reports a record that cannot be decoded: logged (1001), counted, and treated as missing.</summary>
    public void ReportCorrupt(string key, SessionRecord record)
    {
        var span = record.Payload.Span;
        backend.ReportCorrupt(key, span.Length, span.IsEmpty ? (byte)0 : span[0]);
    }

    /// <summary>
    /// Whether <paramref name="record"/> is a live session of <paramref name="userId"/> at <paramref name="now"/>: stored,
    /// not expired (idle or absolute), not moved, readable, and bound to that user.
    /// </summary>
    public bool IsLiveFor([NotNullWhen(true)] SessionRecord? record, string key, string userId, DateTimeOffset now, [NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        envelope = null;
        return record is not null && record.ExpiresAt > now && !EnvelopeCodec.IsTombstone(record.Payload.Span) && TryDecode(record, key, out envelope)
            && string.Equals(envelope.UserId, userId, StringComparison.Ordinal)
            && (envelope.AbsoluteDeadline is not { } deadline || deadline > now);
    }

    /// <summary>Whether <paramref name="record"/> is no session any more: missing, expired, or moved to a new ID.</summary>
    public bool IsGone([NotNullWhen(false)] SessionRecord? record) =>
        record is null || record.ExpiresAt <= time.GetUtcNow() || EnvelopeCodec.IsTombstone(record.Payload.Span);

    /// <summary>Whether the record under <paramref name="key"/> is deleted, expired or moved to a new ID (one read).</summary>
    public async ValueTask<bool> IsGoneAsync(string key, CancellationToken cancellationToken) =>
        IsGone(await backend.GetAsync(key, cancellationToken).ConfigureAwait(false));

    /// <summary>
    /// Writes <paramref name="before"/> (the record a commit replaced) back over the record that commit wrote at version
    /// <paramref name="written"/>, only if that record is still there; as version <paramref name="written"/> + 1, so later
    /// conditional writes see the change.
    /// </summary>
    public ValueTask<bool> PutBackAsync(string key, SessionRecord before, long written, CancellationToken cancellationToken) =>
        backend.SetAsync(key, new SessionRecord(before.Payload, before.ExpiresAt, written + 1), SetCondition.IfVersion(written), cancellationToken);

    /// <summary>
    /// Puts <paramref name="before"/> back under <paramref name="key"/> over the record this commit wrote at version
    /// <paramref name="written"/>, and aims the session's next save at it. When <paramref name="before"/> is not the version
    /// the commit replaced (or is missing), the written record is deleted instead when <paramref name="deleteIfNotRestored"/>
    /// (a refused binding never stays); a regenerate's tombstone is left as it is.
    /// </summary>
    public async ValueTask UndoWriteAsync(SessionData session, string key, SessionRecord? before, long written, bool deleteIfNotRestored, CancellationToken cancellationToken)
    {
        if (before is not null && before.Version == written - 1
            && await PutBackAsync(key, before, written, cancellationToken).ConfigureAwait(false))
        {
            session.TakeVersion(written + 1, before.ExpiresAt, session.StoredUserId);
            session.StoredToken = null;
            return;
        }

        if (deleteIfNotRestored)
        {
            await backend.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false);
        }
    }
}

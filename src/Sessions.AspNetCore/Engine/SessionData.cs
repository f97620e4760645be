using System.Diagnostics.CodeAnalysis;
using Sessions.Envelope;

namespace Sessions.Engine;

/// <summary>
/// One session as a request sees it: its ID, timestamps, bound user and entries, with every change tracked per key
/// so that a save after a concurrent change can re-apply exactly this request's changes. Not thread-safe: one request uses it.
/// </summary>
public sealed class SessionData
{
    private readonly SessionStore _store;
    private Dictionary<string, byte[]> _entries;
    private Dictionary<string, byte[]?>? _changes;
    private List<(string Id, string? UserId)>? _idsToDelete;
    private bool _cleared;
    private bool _userChanged;
    private bool _persistentChanged;
    private string? _userId;
    private bool _isPersistent;
    private string? _id;

    internal SessionData(SessionStore store, string? id, DateTimeOffset createdAt, DateTimeOffset? absoluteDeadline, bool isPersistent)
    {
        _store = store;
        _id = id;
        CreatedAt = createdAt;
        AbsoluteDeadline = absoluteDeadline;
        _isPersistent = isPersistent;
        _entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
    }

    internal SessionData(SessionStore store, string id, string key, SessionEnvelope envelope, long version, DateTimeOffset expiresAt)
    {
        _store = store;
        _id = id;
        Adopt(envelope, envelope.Entries, version, expiresAt);
        StoredId = id;
        StoredKey = key;
    }

    /// <summary>The session ID. Changes on <see cref="Regenerate"/> and <see cref="Destroy"/>. A new session's ID is drawn on first use.</summary>
    public string Id => _id ??= _store.NewId();

    /// <summary>Whether <see cref="Id"/> has been drawn (a new session that nobody asked for its ID has none yet).</summary>
    internal bool HasId => _id is not null;

    /// <summary>When the session was first created.</summary>
    public DateTimeOffset CreatedAt { get; private set; }

    /// <summary>When the session ends whatever its activity (creation + absolute timeout), or <see langword="null"/>.</summary>
    public DateTimeOffset? AbsoluteDeadline { get; private set; }

    /// <summary>When the stored record expires, as last read or written; <see langword="null"/> for a session not stored yet.</summary>
    public DateTimeOffset? ExpiresAt => StoredExpiresAt;

    /// <summary>Whether this session has not been stored yet (new, regenerated or destroyed during this request).</summary>
    public bool IsNew => StoredVersion is null || RegeneratedFrom is not null;

    /// <summary>The user this session is bound to, or <see langword="null"/>.</summary>
    public string? UserId
    {
        get => _userId;
        set
        {
            if (value is not null && (value.Length == 0 || JsonEnvelopeFormat.ContainsLoneSurrogate(value)))
            {
                throw new ArgumentException("A user ID must be non-empty, well-formed text.", nameof(value));
            }

            if (!string.Equals(_userId, value, StringComparison.Ordinal))
            {
                _userId = value;
                _userChanged = true;
            }
        }
    }

    /// <summary>Whether the session's cookie survives a browser restart.</summary>
    public bool IsPersistent
    {
        get => _isPersistent;
        set
        {
            if (_isPersistent != value)
            {
                _isPersistent = value;
                _persistentChanged = true;
            }
        }
    }

    /// <summary>The entry keys.</summary>
    public IEnumerable<string> Keys => _entries.Keys;

    /// <summary>The number of entries.</summary>
    public int Count => _entries.Count;

    /// <summary>Whether the session holds nothing worth storing: no entries and no bound user.</summary>
    public bool IsEmpty => _entries.Count == 0 && _userId is null;

    /// <summary>Whether <see cref="IsPersistent"/> changed since the session was loaded or last stored.</summary>
    internal bool PersistenceChanged => _persistentChanged;

    /// <summary>Whether anything changed that a commit must save.</summary>
    public bool IsModified => _changes is { Count: > 0 } || _cleared || _userChanged || _persistentChanged || RegeneratedFrom is not null;

    /// <summary>
    /// A short description of the client (the middleware puts the User-Agent here when a user is bound), kept in the user's
    /// session index so the user can tell their sessions apart. Not stored in the session itself.
    /// </summary>
    public string? ClientDescription { get; set; }

    /// <summary>The user the stored record is bound to, as loaded or last stored; the index is updated when it differs from <see cref="UserId"/>.</summary>
    internal string? StoredUserId { get; private set; }

    /// <summary>Whether <see cref="Destroy"/> was called.</summary>
    public bool IsDestroyed { get; private set; }

    internal long? StoredVersion { get; private set; }

    /// <summary>The backend's <see cref="Backends.SessionRecord.ConcurrencyToken"/> for <see cref="StoredVersion"/>, when it gave one.</summary>
    internal object? StoredToken { get; set; }

    internal DateTimeOffset? StoredExpiresAt { get; private set; }

    /// <summary>The ID under which the loaded record is stored; <see langword="null"/> when nothing is stored.</summary>
    internal string? StoredId { get; private set; }

    /// <summary>The storage key of <see cref="StoredId"/>, kept so that a commit does not hash the ID a second time.</summary>
    internal string? StoredKey { get; private set; }

    /// <summary>Lifecycle events of the running commit, raised when it is over; <see langword="null"/> when there are none.</summary>
    internal List<SessionEvent>? PendingEvents { get; set; }

    /// <summary>Set by <see cref="Regenerate"/>: the stored ID whose data moves to the new ID.</summary>
    internal string? RegeneratedFrom { get; private set; }

    internal IReadOnlyList<(string Id, string? UserId)> IdsToDelete => (IReadOnlyList<(string Id, string? UserId)>?)_idsToDelete ?? [];

    internal Dictionary<string, byte[]> Entries => _entries;

    /// <summary>Reads an entry.</summary>
    /// <param name="key">The entry key.</param>
    /// <param name="value">The value; callers must not modify it.</param>
    /// <returns>Whether the entry exists.</returns>
    public bool TryGetValue(string key, [NotNullWhen(true)] out byte[]? value)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _entries.TryGetValue(key, out value);
    }

    /// <summary>Sets an entry to a copy of <paramref name="value"/>.</summary>
    /// <param name="key">The entry key: well-formed text.</param>
    /// <param name="value">The value.</param>
    public void Set(string key, ReadOnlySpan<byte> value)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (JsonEnvelopeFormat.ContainsLoneSurrogate(key))
        {
            throw new ArgumentException("A session key must be well-formed text (no unpaired surrogates).", nameof(key));
        }

        var copy = value.ToArray();
        _entries[key] = copy;
        (_changes ??= new Dictionary<string, byte[]?>(StringComparer.Ordinal))[key] = copy;
    }

    /// <summary>Removes an entry.</summary>
    /// <param name="key">The entry key.</param>
    /// <returns>Whether it existed.</returns>
    public bool Remove(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (!_entries.Remove(key))
        {
            return false;
        }

        (_changes ??= new Dictionary<string, byte[]?>(StringComparer.Ordinal))[key] = null;
        return true;
    }

    /// <summary>Removes every entry. On a concurrent-change merge, entries another request added meanwhile are removed too.</summary>
    public void Clear()
    {
        _entries.Clear();
        _changes?.Clear();
        _cleared = true;
    }

    /// <summary>
    /// Gives the session a new ID while keeping its data; when the request commits, the record under the old ID is replaced
    /// by a "moved" tombstone (no data) that lives for <see cref="SessionOptions.MovedIdLifetime"/>, so that a late request
    /// with the old ID answers 409 instead of starting a new session. Call it when the user signs in, to defeat session fixation.
    /// </summary>
    public void Regenerate()
    {
        if (StoredId is not null && RegeneratedFrom is null)
        {
            RegeneratedFrom = StoredId;
        }

        _id = null;
    }

    /// <summary>
    /// Ends the session: its record is deleted when the request commits and the data is gone. The object becomes a new,
    /// empty session with a new ID, which is stored only if something is written to it afterwards.
    /// </summary>
    public void Destroy()
    {
        foreach (var id in (ReadOnlySpan<string?>)[StoredId, RegeneratedFrom])
        {
            if (id is not null)
            {
                (_idsToDelete ??= []).Add((id, StoredUserId));
            }
        }

        IsDestroyed = true;
        _id = null;
        var now = _store.UtcNow();
        CreatedAt = now;
        AbsoluteDeadline = _store.DeadlineFor(now);
        _entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        _userId = null;
        _isPersistent = _store.PersistentByDefault;
        SetStored(null, null, null, null, null);
    }

    /// <summary>Re-applies this request's changes on top of a record another request stored meanwhile (merge mode).</summary>
    internal void RebaseOnto(SessionEnvelope stored, long version, DateTimeOffset expiresAt)
    {
        var merged = _cleared ? new Dictionary<string, byte[]>(StringComparer.Ordinal) : stored.Entries;
        if (_changes is not null)
        {
            foreach (var (key, value) in _changes)
            {
                if (value is null)
                {
                    merged.Remove(key);
                }
                else
                {
                    merged[key] = value;
                }
            }
        }

        Adopt(stored, merged, version, expiresAt);
    }

    // Takes the stored record's state, with entries, except what this request changed (nothing yet when just loaded).
    [MemberNotNull(nameof(_entries))]
    private void Adopt(SessionEnvelope stored, Dictionary<string, byte[]> entries, long version, DateTimeOffset expiresAt)
    {
        _entries = entries;
        if (!_userChanged)
        {
            _userId = stored.UserId;
        }

        if (!_persistentChanged)
        {
            _isPersistent = stored.IsPersistent;
        }

        CreatedAt = stored.CreatedAt;
        AbsoluteDeadline = stored.AbsoluteDeadline;
        TakeVersion(version, expiresAt, stored.UserId);
    }

    /// <summary>Keeps this request's whole state but aims the next conditional save at the version stored now (last-write-wins mode).</summary>
    internal void TakeVersion(long version, DateTimeOffset expiresAt, string? storedUserId)
    {
        StoredUserId = storedUserId;
        StoredVersion = version;
        StoredExpiresAt = expiresAt;
    }

    /// <summary>Records that the state was stored under <see cref="Id"/> (whose storage key is <paramref name="key"/>) and clears the change log.</summary>
    internal void MarkStored(long version, DateTimeOffset expiresAt, string key)
    {
        SetStored(Id, key, _userId, version, expiresAt);
        _idsToDelete = null;
    }

    /// <summary>Draws a different ID for a new session whose first choice was taken (an astronomically unlikely collision).</summary>
    internal void ReplaceNewId() => _id = null;

    internal void MarkTouched(DateTimeOffset expiresAt)
    {
        StoredExpiresAt = expiresAt;

        // A touch moves the store's token (CAS value, update_time, seq_no) too; a later save must not present the old one.
        StoredToken = null;
    }

    internal void MarkDeleted()
    {
        SetStored(null, null, null, null, null);
        _idsToDelete = null;
    }

    // What is stored for this session now (all null: nothing), with nothing left to write.
    private void SetStored(string? id, string? key, string? userId, long? version, DateTimeOffset? expiresAt)
    {
        StoredId = id;
        StoredKey = key;
        StoredUserId = userId;
        StoredVersion = version;
        StoredToken = null;
        StoredExpiresAt = expiresAt;
        RegeneratedFrom = null;
        _changes = null;
        _cleared = false;
        _userChanged = false;
        _persistentChanged = false;
    }

    internal SessionEnvelope ToEnvelope() => new(CreatedAt, AbsoluteDeadline, _userId, _isPersistent, _entries);
}

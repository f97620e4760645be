namespace Sessions.Backends;

/// <summary>The kinds of <see cref="SetCondition"/>.</summary>
public enum SetConditionKind
{
    /// <summary>Write whatever is stored.</summary>
    Always = 0,

    /// <summary>Write only when no live (unexpired) record exists under the key.</summary>
    IfAbsent = 1,

    /// <summary>Write only when a live record exists and its version equals <see cref="SetCondition.ExpectedVersion"/>.</summary>
    IfVersion = 2,
}

/// <summary>When <see cref="ISessionBackend.SetAsync"/> may write: always, only if absent, or only if the stored version matches.</summary>
public readonly record struct SetCondition
{
    private SetCondition(SetConditionKind kind, long expectedVersion, object? concurrencyToken = null)
    {
        Kind = kind;
        ExpectedVersion = expectedVersion;
        ConcurrencyToken = concurrencyToken;
    }

    /// <summary>The kind of condition.</summary>
    public SetConditionKind Kind { get; }

    /// <summary>The version the live record must have; meaningful only for <see cref="SetConditionKind.IfVersion"/>.</summary>
    public long ExpectedVersion { get; }

    /// <summary>
    /// For <see cref="SetConditionKind.IfVersion"/>: the <see cref="SessionRecord.ConcurrencyToken"/> of the record with
    /// <see cref="ExpectedVersion"/> as this backend returned it, or <see langword="null"/> when the caller has none. A backend
    /// may use it as the store's precondition (CAS, <c>update_time</c>, <c>if_seq_no</c>) instead of reading first; the
    /// condition still means "the live record has <see cref="ExpectedVersion"/>", so a token that no longer matches must fail
    /// the write, never succeed it.
    /// </summary>
    public object? ConcurrencyToken { get; }

    /// <summary>Write unconditionally.</summary>
    public static SetCondition Always => default;

    /// <summary>Write only when no live record exists under the key.</summary>
    public static SetCondition IfAbsent => new(SetConditionKind.IfAbsent, 0);

    /// <summary>Write only when the live record under the key has <paramref name="expectedVersion"/>.</summary>
    /// <param name="expectedVersion">The version read earlier.</param>
    /// <returns>The condition.</returns>
    public static SetCondition IfVersion(long expectedVersion) => new(SetConditionKind.IfVersion, expectedVersion);

    /// <summary>Write only when the live record under the key has <paramref name="expectedVersion"/>; passes on the store's token for it.</summary>
    /// <param name="expectedVersion">The version read earlier.</param>
    /// <param name="concurrencyToken">The <see cref="SessionRecord.ConcurrencyToken"/> read with that version, or <see langword="null"/>.</param>
    /// <returns>The condition.</returns>
    public static SetCondition IfVersion(long expectedVersion, object? concurrencyToken) => new(SetConditionKind.IfVersion, expectedVersion, concurrencyToken);

    /// <summary>Decides whether a write may proceed, given what is stored now. Backends that evaluate conditions in process use this.</summary>
    /// <param name="current">The live record under the key, or <see langword="null"/> when there is none (or it has expired).</param>
    /// <returns><see langword="true"/> when the condition holds.</returns>
    public bool IsSatisfiedBy(SessionRecord? current) => Kind switch
    {
        SetConditionKind.Always => true,
        SetConditionKind.IfAbsent => current is null,
        SetConditionKind.IfVersion => current is not null && current.Version == ExpectedVersion,
        _ => false,
    };

    /// <inheritdoc />
    public override string ToString() => Kind == SetConditionKind.IfVersion ? $"IfVersion({ExpectedVersion})" : Kind.ToString();
}

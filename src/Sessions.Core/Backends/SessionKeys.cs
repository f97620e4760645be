namespace Sessions.Backends;

/// <summary>Facts about storage keys that every backend may rely on.</summary>
public static class SessionKeys
{
    /// <summary>The longest key the core produces, in bytes (keys are ASCII, so also in characters).</summary>
    public const int MaxKeyLength = 250;

    /// <summary>Whether <paramref name="key"/> is a key the core could have produced: non-empty, printable ASCII, at most <see cref="MaxKeyLength"/> long.</summary>
    /// <param name="key">The key to check.</param>
    /// <returns><see langword="true"/> when the key is valid.</returns>
    public static bool IsValid(string? key)
    {
        if (string.IsNullOrEmpty(key) || key.Length > MaxKeyLength)
        {
            return false;
        }

        foreach (var c in key)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Throws <see cref="ArgumentException"/> when <paramref name="key"/> is not valid.</summary>
    /// <param name="key">The key to check.</param>
    /// <param name="paramName">The caller's parameter name.</param>
    public static void ThrowIfInvalid(string key, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(key))] string? paramName = null)
    {
        ArgumentNullException.ThrowIfNull(key, paramName);
        if (!IsValid(key))
        {
            throw new ArgumentException(
                $"A session storage key must be 1 to {MaxKeyLength} printable ASCII characters without spaces; got {key.Length} characters.",
                paramName);
        }
    }
}

namespace Sessions;

/// <summary>The encodings of a stored session.</summary>
public enum SessionFormat
{
    /// <summary>A compact versioned binary envelope (the default).</summary>
    Binary = 0,

    /// <summary>A JSON envelope, readable in tools such as <c>redis-cli</c>.</summary>
    Json = 1,
}

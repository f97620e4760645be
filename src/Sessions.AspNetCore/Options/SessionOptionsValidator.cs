using Microsoft.Extensions.Options;
using Sessions.Backends;
using Sessions.Ids;

namespace Sessions;

/// <summary>Checks <see cref="SessionOptions"/> at start-up, with messages that say what to set.</summary>
public sealed class SessionOptionsValidator : IValidateOptions<SessionOptions>
{
    /// <summary>The longest idle or absolute timeout accepted (ten years).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(3650);

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (options.IdleTimeout <= TimeSpan.Zero)
        {
            failures.Add($"Sessions:IdleTimeout must be positive; got {options.IdleTimeout}.");
        }

        else if (options.IdleTimeout > MaxTimeout)
        {
            failures.Add($"Sessions:IdleTimeout must be at most {MaxTimeout.TotalDays} days; got {options.IdleTimeout}.");
        }

        if (options.AbsoluteTimeout is { } absolute && absolute <= TimeSpan.Zero)
        {
            failures.Add($"Sessions:AbsoluteTimeout must be positive when set; got {absolute}. Leave it unset for no absolute timeout.");
        }
        else if (options.AbsoluteTimeout is { } longAbsolute && longAbsolute > MaxTimeout)
        {
            failures.Add($"Sessions:AbsoluteTimeout must be at most {MaxTimeout.TotalDays} days; got {longAbsolute}.");
        }

        if (options.MaxSessionsPerUser is { } cap && cap is < 1 or > Engine.UserSessionIndex.MaxMembers)
        {
            failures.Add($"Sessions:MaxSessionsPerUser must be between 1 and {Engine.UserSessionIndex.MaxMembers} when set; got {cap}. Leave it unset for no limit.");
        }

        if (!Enum.IsDefined(options.SessionLimitMode))
        {
            failures.Add($"Sessions:SessionLimitMode must be RevokeLeastRecentlyUsed or Refuse; got {options.SessionLimitMode}.");
        }

        if (options.MovedIdLifetime <= TimeSpan.Zero || options.MovedIdLifetime > TimeSpan.FromHours(1))
        {
            failures.Add($"Sessions:MovedIdLifetime must be more than 0 and at most 1 hour; got {options.MovedIdLifetime}.");
        }

        if (options.TouchAfter < TimeSpan.Zero)
        {
            failures.Add($"Sessions:TouchAfter must not be negative; got {options.TouchAfter}.");
        }

        if (options.KeyPrefix is null || !(options.KeyPrefix.Length == 0 || SessionKeys.IsValid(options.KeyPrefix)) || options.KeyPrefix.Length > 100)
        {
            failures.Add($"Sessions:KeyPrefix must be at most 100 printable ASCII characters without spaces; got '{options.KeyPrefix}'.");
        }

        if (options.IdLengthBytes is < SessionIdGenerator.MinIdLengthBytes or > SessionIdGenerator.MaxIdLengthBytes)
        {
            failures.Add($"Sessions:IdLengthBytes must be between {SessionIdGenerator.MinIdLengthBytes} and {SessionIdGenerator.MaxIdLengthBytes}; got {options.IdLengthBytes}.");
        }

        else if (!options.HashIdsAtRest && options.KeyPrefix is not null
            && options.KeyPrefix.Length + System.Buffers.Text.Base64Url.GetEncodedLength(options.IdLengthBytes) > SessionKeys.MaxKeyLength)
        {
            failures.Add(
                $"Sessions:KeyPrefix ({options.KeyPrefix.Length} characters) plus a raw session ID of Sessions:IdLengthBytes = {options.IdLengthBytes} "
                + $"({System.Buffers.Text.Base64Url.GetEncodedLength(options.IdLengthBytes)} characters) exceeds the {SessionKeys.MaxKeyLength}-character storage key limit "
                + "with Sessions:HashIdsAtRest off. Shorten the prefix, lower IdLengthBytes, or turn HashIdsAtRest on.");
        }

        if (!Enum.IsDefined(options.Format))
        {
            failures.Add($"Sessions:Format must be Binary or Json; got {options.Format}.");
        }

        if (options.MaxPayloadBytes < 64)
        {
            failures.Add($"Sessions:MaxPayloadBytes must be at least 64; got {options.MaxPayloadBytes}.");
        }

        if (!Enum.IsDefined(options.ConcurrencyMode))
        {
            failures.Add($"Sessions:ConcurrencyMode must be Merge, LastWriteWins or Fail; got {options.ConcurrencyMode}.");
        }

        if (options.MaxConflictRetries is < 0 or > 100)
        {
            failures.Add($"Sessions:MaxConflictRetries must be between 0 and 100; got {options.MaxConflictRetries}.");
        }

        if (options.ConflictRetryDelay < TimeSpan.Zero || options.ConflictRetryDelay > TimeSpan.FromSeconds(1))
        {
            failures.Add($"Sessions:ConflictRetryDelay must be between 0 and 1 second; got {options.ConflictRetryDelay}.");
        }

        if (options.MaxConflictRetryDelay < options.ConflictRetryDelay || options.MaxConflictRetryDelay > TimeSpan.FromSeconds(10))
        {
            failures.Add($"Sessions:MaxConflictRetryDelay must be between Sessions:ConflictRetryDelay ({options.ConflictRetryDelay}) and 10 seconds; got {options.MaxConflictRetryDelay}.");
        }

        if (!Enum.IsDefined(options.FailureMode))
        {
            failures.Add($"Sessions:FailureMode must be Throw or Continue; got {options.FailureMode}.");
        }

        for (var i = 0; i < options.SigningKeys.Count; i++)
        {
            var key = options.SigningKeys[i];
            if (!TryDecodeKey(key, out var length) || length < HmacSessionIdProtector.MinKeyBytes)
            {
                failures.Add($"Sessions:SigningKeys:{i} must be base64 (or base64url) of at least {HmacSessionIdProtector.MinKeyBytes} random bytes; generate one with `openssl rand -base64 32`.");
            }
        }

        ValidateResilience(options, failures);
        ValidateCookie(options.Cookie, failures);
        foreach (var path in options.ExcludedPaths)
        {
            if (string.IsNullOrEmpty(path) || path[0] != '/')
            {
                failures.Add($"Sessions:ExcludedPaths entries must start with '/'; got '{path}'.");
            }
        }

        if (string.IsNullOrWhiteSpace(options.ProtectionPurpose) || options.ProtectionPurpose.Length > 200)
        {
            failures.Add($"Sessions:ProtectionPurpose must be 1 to 200 characters, not blank; got '{options.ProtectionPurpose}'. Leave it unset for the default '{SessionOptions.DefaultProtectionPurpose}'.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void ValidateResilience(SessionOptions options, List<string> failures)
    {
        if (options.OperationTimeout < TimeSpan.FromMilliseconds(10) || options.OperationTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"Sessions:OperationTimeout must be between 10 ms and 10 minutes; got {options.OperationTimeout}.");
        }

        if (options.CircuitBreaker is not { } breaker)
        {
            failures.Add("Sessions:CircuitBreaker must not be null; set Sessions:CircuitBreaker:Enabled to false to turn it off.");
            return;
        }

        if (breaker.FailureRatio is not (> 0 and <= 1))
        {
            failures.Add($"Sessions:CircuitBreaker:FailureRatio must be above 0 and at most 1; got {breaker.FailureRatio}.");
        }

        if (breaker.MinimumThroughput < 2)
        {
            failures.Add($"Sessions:CircuitBreaker:MinimumThroughput must be at least 2; got {breaker.MinimumThroughput}.");
        }

        if (breaker.SamplingDuration < TimeSpan.FromMilliseconds(500) || breaker.SamplingDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"Sessions:CircuitBreaker:SamplingDuration must be between 500 ms and a day; got {breaker.SamplingDuration}.");
        }

        if (breaker.BreakDuration < TimeSpan.FromMilliseconds(500) || breaker.BreakDuration > TimeSpan.FromMinutes(1))
        {
            failures.Add($"Sessions:CircuitBreaker:BreakDuration must be between 500 ms and 1 minute; got {breaker.BreakDuration}.");
        }
    }

    private static void ValidateCookie(SessionCookieOptions? cookie, List<string> failures)
    {
        if (cookie is null)
        {
            failures.Add("Sessions:Cookie must not be null.");
            return;
        }

        if (string.IsNullOrEmpty(cookie.Name) || cookie.Name.Any(c => c is <= ' ' or >= (char)0x7F or '(' or ')' or '<' or '>' or '@' or ',' or ';' or ':' or '\\' or '"' or '/' or '[' or ']' or '?' or '=' or '{' or '}'))
        {
            failures.Add($"Sessions:Cookie:Name must be a valid cookie name (letters, digits, and !#$%&'*+-.^_`|~); got '{cookie.Name}'.");
        }

        if (cookie.UseHostPrefix && (cookie.Domain is not null || cookie.Path != "/"))
        {
            failures.Add("Sessions:Cookie:UseHostPrefix requires Path '/' and no Domain: browsers reject __Host- cookies otherwise.");
        }

        if (string.IsNullOrEmpty(cookie.Path) || cookie.Path[0] != '/')
        {
            failures.Add($"Sessions:Cookie:Path must start with '/'; got '{cookie.Path}'.");
        }

        if (cookie.SameSite == Microsoft.AspNetCore.Http.SameSiteMode.None && cookie.SecurePolicy == Microsoft.AspNetCore.Http.CookieSecurePolicy.None)
        {
            failures.Add("Sessions:Cookie:SameSite None requires a Secure cookie; browsers drop it otherwise. Set Sessions:Cookie:SecurePolicy to SameAsRequest or Always.");
        }
    }

    private static bool TryDecodeKey(string? key, out int length)
    {
        length = 0;
        if (string.IsNullOrWhiteSpace(key))
        {
            return false;
        }

        var decoded = HmacSessionIdProtector.DecodeKey(key);
        length = decoded?.Length ?? 0;
        return decoded is not null;
    }
}

using System.Buffers.Text;
using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Sessions.Backends;
using Sessions.Ids;

namespace Sessions;

/// <summary>
/// Checks <see cref="SessionOptions"/> at start-up, with messages that say what to set: the data annotations on the
/// options types (checked by the source-generated <see cref="SessionOptionsAnnotationsValidator"/>), then the rules that
/// span several settings or list items, which annotations cannot say.
/// </summary>
internal sealed class SessionOptionsValidator : IValidateOptions<SessionOptions>
{
    private static readonly SessionOptionsAnnotationsValidator s_annotations = new();

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, SessionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var annotations = s_annotations.Validate(name, options);
        if (annotations.Failed)
        {
            failures.AddRange(annotations.Failures.Select(f => NamingTheSetting(f, name)));
        }

        AddCrossFieldFailures(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    // The generated code reports "Member: message". Every annotation's ErrorMessage names its setting, but the generated
    // [Range] ignores ErrorMessage (https://github.com/dotnet/runtime/issues/123137) and reports "The field
    // SessionOptions.A.B must be between x and y."; for those, the annotation's own message is formatted instead.
    private static string NamingTheSetting(string failure, string? name)
    {
        var separator = failure.IndexOf(": ", StringComparison.Ordinal);
        var message = separator < 0 ? failure : failure[(separator + 2)..];
        var root = (string.IsNullOrEmpty(name) ? nameof(SessionOptions) : name) + ".";
        const string Field = "The field ";
        if (message.StartsWith("Sessions:", StringComparison.Ordinal) || !message.StartsWith(Field + root, StringComparison.Ordinal))
        {
            return message;
        }

        var start = Field.Length + root.Length;
        var end = message.IndexOf(' ', start);
        if (end < 0)
        {
            return message;
        }

        var path = message[start..end];
        var type = typeof(SessionOptions);
        System.Reflection.PropertyInfo? property = null;
        foreach (var member in path.Split('.'))
        {
            property = type.GetProperty(member);
            type = property?.PropertyType ?? type;
        }

        return property?.GetCustomAttributes(typeof(RangeAttribute), false) is [RangeAttribute range]
            ? range.FormatErrorMessage(path)
            : $"Sessions:{path.Replace('.', ':')}{message[(start + path.Length)..]}";
    }

    private static void AddCrossFieldFailures(SessionOptions options, List<string> failures)
    {
        if (!options.HashIdsAtRest && options.KeyPrefix is not null
            && options.IdLengthBytes is >= SessionIdGenerator.MinIdLengthBytes and <= SessionIdGenerator.MaxIdLengthBytes
            && options.KeyPrefix.Length + Base64Url.GetEncodedLength(options.IdLengthBytes) > SessionKeys.MaxKeyLength)
        {
            failures.Add(
                $"Sessions:KeyPrefix ({options.KeyPrefix.Length} characters) plus a raw session ID of Sessions:IdLengthBytes = {options.IdLengthBytes} "
                + $"({Base64Url.GetEncodedLength(options.IdLengthBytes)} characters) exceeds the {SessionKeys.MaxKeyLength}-character storage key limit "
                + "with Sessions:HashIdsAtRest off. Shorten the prefix, lower IdLengthBytes, or turn HashIdsAtRest on.");
        }

        if (options.MaxConflictRetryDelay < options.ConflictRetryDelay)
        {
            failures.Add($"Sessions:MaxConflictRetryDelay must be at least Sessions:ConflictRetryDelay ({options.ConflictRetryDelay}); got {options.MaxConflictRetryDelay}.");
        }

        for (var i = 0; i < options.SigningKeys.Count; i++)
        {
            if (HmacSessionIdProtector.DecodeKey(options.SigningKeys[i] ?? "") is not { Length: >= HmacSessionIdProtector.MinKeyBytes })
            {
                failures.Add($"Sessions:SigningKeys:{i} must be base64 (or base64url) of at least {HmacSessionIdProtector.MinKeyBytes} random bytes; generate one with `openssl rand -base64 32`.");
            }
        }

        foreach (var path in options.ExcludedPaths)
        {
            if (string.IsNullOrEmpty(path) || path[0] != '/')
            {
                failures.Add($"Sessions:ExcludedPaths entries must start with '/'; got '{path}'.");
            }
        }

        if (options.Cookie is { } cookie)
        {
            if (cookie.UseHostPrefix && (cookie.Domain is not null || cookie.Path != "/"))
            {
                failures.Add("Sessions:Cookie:UseHostPrefix requires Path '/' and no Domain: browsers reject __Host- cookies otherwise.");
            }

            if (cookie.SameSite == SameSiteMode.None && cookie.SecurePolicy == CookieSecurePolicy.None)
            {
                failures.Add("Sessions:Cookie:SameSite None requires a Secure cookie; browsers drop it otherwise. Set Sessions:Cookie:SecurePolicy to SameAsRequest or Always.");
            }
        }
    }
}

/// <summary>The data annotations on <see cref="SessionOptions"/> and the option types it holds, checked by generated code.</summary>
[OptionsValidator]
internal sealed partial class SessionOptionsAnnotationsValidator : IValidateOptions<SessionOptions>;

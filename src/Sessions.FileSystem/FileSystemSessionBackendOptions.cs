using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Sessions.FileSystem;

/// <summary>Options for <see cref="FileSystemSessionBackend"/>, bound from <c>Sessions:FileSystem</c>.</summary>
public sealed class FileSystemSessionBackendOptions : IValidatableObject
{
    /// <summary>The directory used when <see cref="Directory"/> is not set.</summary>
    public const string DefaultDirectory = "./.sessions";

    /// <summary>The lock timeout used when <see cref="LockTimeout"/> is not set: 10 seconds.</summary>
    public static readonly TimeSpan DefaultLockTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The root directory that holds the session files (default <c>./.sessions</c>), resolved against the current directory
    /// when the backend is created, and created (mode 0700 on Unix) if missing. Several processes may share it.
    /// </summary>
    [Required(ErrorMessage = "FileSystemSessionBackendOptions.Directory must be set to the directory that holds the session files, e.g. \"/var/lib/myapp/sessions\" (the default is \"./.sessions\").")]
    public string Directory { get; set; } = DefaultDirectory;

    /// <summary>
    /// When <see langword="true"/>, each write is flushed to the disk (<c>fsync</c>) before it replaces the record, so a
    /// power loss cannot leave a record whose bytes never reached the disk. Slower; the default <see langword="false"/> is
    /// safe against process crashes but not against power loss.
    /// </summary>
    public bool Fsync { get; set; }

    /// <summary>
    /// How long a write waits for the lock of the record's shard before it fails with <see cref="TimeoutException"/>: more
    /// than 0, at most <see cref="int.MaxValue"/> ms, default 10 s. Locks are held for the milliseconds of a read-check-write,
    /// so a timeout means a writer is stuck.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "24.20:31:23.647")]
    public TimeSpan LockTimeout { get; set; } = DefaultLockTimeout;

    /// <inheritdoc />
    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext)
    {
        string? error = null;
        try
        {
            _ = string.IsNullOrWhiteSpace(Directory) ? null : Path.GetFullPath(Directory);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            error = e.Message;
        }

        return error is null ? [] : [new ValidationResult($"FileSystemSessionBackendOptions.Directory \"{Directory}\" is not a valid path: {error}")];
    }
}

/// <summary>Validates <see cref="FileSystemSessionBackendOptions"/>.</summary>
[OptionsValidator]
internal sealed partial class FileSystemSessionBackendOptionsValidator : IValidateOptions<FileSystemSessionBackendOptions>;

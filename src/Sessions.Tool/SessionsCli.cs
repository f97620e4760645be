using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Sessions.Backends;
using Spectre.Console;

namespace Sessions.Tool;

/// <summary>The <c>sessions</c> command line: parses the arguments and runs a command against the app's store.</summary>
internal static class SessionsCli
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private static readonly Option<string?> ConfigOption = new("--config", "-c")
    {
        Description = "The app's appsettings.json (or its directory). Default: ./appsettings.json. appsettings.{Environment}.json beside it and environment variables (Sessions__Redis__Configuration=...) apply on top, as in the app.",
        Recursive = true,
    };

    private static readonly Option<string?> EnvironmentOption = new("--environment", "-e")
    {
        Description = "The environment name for appsettings.{Environment}.json. Default: DOTNET_ENVIRONMENT, then ASPNETCORE_ENVIRONMENT, then Production.",
        Recursive = true,
    };

    private static readonly Option<string> SectionOption = new("--section")
    {
        Description = "The configuration section the app passes to AddSessions(...).",
        DefaultValueFactory = _ => "Sessions",
        Recursive = true,
    };

    private static readonly Option<string?> BackendOption = new("--backend", "-b")
    {
        Description = "Overrides Sessions:Backend: the registered backend to work on (filesystem, redis, memcached, efcore, dynamodb, firestore, mongo, elasticsearch, or a third-party one).",
        Recursive = true,
    };

    private static readonly Option<string[]> BackendAssemblyOption = new("--backend-assembly")
    {
        Description = "Loads a third-party backend package's DLL and calls its Add…Backend(this ISessionsBuilder) methods, as the app does. Repeatable.",
        Recursive = true,
        AllowMultipleArgumentsPerToken = false,
    };

    private static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Writes JSON for scripts instead of tables.",
        Recursive = true,
    };

    /// <summary>Runs the tool.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="output">Where results go (tables, or JSON with --json).</param>
    /// <param name="error">Where errors go.</param>
    /// <param name="cancellationToken">Interrupts the command (Ctrl+C).</param>
    /// <param name="copyProgress">For tests: called after each record <c>copy</c> handles.</param>
    /// <returns>The exit code (<see cref="ExitCodes"/>).</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default, Action<CopyCounts>? copyProgress = null)
    {
        var root = BuildCommand(output, error, copyProgress);

        // No POSIX bundling: session IDs and handles are base64url and may start with '-', and "-cX..." would otherwise be
        // read as "-c X..." (--config), so "sessions show -cX..." would fail. Options still take "-c path" and "--config=path".
        var parsed = root.Parse(args, new ParserConfiguration { EnablePosixBundling = false });
        if (parsed.Errors.Count > 0)
        {
            await error.WriteLineAsync($"error: {UsageError(root, parsed)}").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// One message for a command line that does not parse. System.CommandLine reports a mistyped command twice ("Required
    /// command was not provided" and "Unrecognized command or argument"); said once here, with the commands to choose from.
    /// </summary>
    private static string UsageError(RootCommand root, ParseResult parsed)
    {
        var command = parsed.CommandResult.Command;
        if (command != root)
        {
            return $"{string.Join(" ", parsed.Errors.Select(e => e.Message).Distinct())} Run 'sessions {command.Name} --help' for its arguments and options.";
        }

        var commands = $"The commands are {string.Join(", ", root.Subcommands.Select(c => c.Name))}; 'sessions --help' describes them.";
        if (parsed.UnmatchedTokens.FirstOrDefault(t => !t.StartsWith('-')) is { } unknown)
        {
            return $"'{unknown}' is not a sessions command. {commands}";
        }

        // No command at all: what else went wrong (an unknown option, an option without its value), then what to type.
        var problems = parsed.Errors.Where(e => e.SymbolResult is not CommandResult).Select(e => e.Message)
            .Concat(parsed.UnmatchedTokens.Select(t => $"'{t}' is not an option."))
            .Distinct();
        return string.Join(" ", [.. problems, "No command given.", commands]);
    }

    private static RootCommand BuildCommand(TextWriter output, TextWriter error, Action<CopyCounts>? copyProgress)
    {
        var root = new RootCommand(
            "Looks inside and manages the server-side sessions of a Sessions app, reading the app's own settings. " +
            "Exit codes: 0 done, 1 usage, 2 settings missing or invalid, 3 store failed, 4 not found, 5 backend cannot do it, 130 interrupted.");
        foreach (var option in new Option[] { ConfigOption, EnvironmentOption, SectionOption, BackendOption, BackendAssemblyOption, JsonOption })
        {
            root.Options.Add(option);
        }

        var page = new Option<int>("--page") { Description = "The page to show, from 1.", DefaultValueFactory = _ => 1 };
        var pageSize = new Option<int>("--page-size") { Description = "Sessions per page (1 to 10000).", DefaultValueFactory = _ => 50 };
        var list = new Command("list", "Counts the live sessions and lists them, a page at a time, sorted by storage key: handle, user, created, expires, size.") { page, pageSize };
        list.SetAction((r, ct) => Run(r, output, error, ct, (host, console, json, token) => ListAsync(host, console, json, r.GetValue(page), r.GetValue(pageSize), token)));
        root.Subcommands.Add(list);

        var idOrHandle = new Argument<string>("id-or-handle") { Description = "A session ID (from a cookie) or a session's handle (from list)." };
        var values = new Option<bool>("--values") { Description = "Also prints the values (UTF-8 text when printable, base64 otherwise). They may be personal data." };
        var show = new Command("show", "Shows one session's envelope: timestamps, user, persistence, version, and its keys with value sizes.") { idOrHandle, values };
        show.SetAction((r, ct) => Run(r, output, error, ct, (host, console, json, token) => ShowAsync(host, console, json, r.GetValue(idOrHandle)!, r.GetValue(values), token)));
        root.Subcommands.Add(show);

        var handle = new Argument<string?>("handle") { Description = "The handle of one session to revoke (from list or show).", Arity = ArgumentArity.ZeroOrOne };
        var user = new Option<string?>("--user", "-u") { Description = "The user whose sessions to revoke: all of them, or only <handle> when given." };
        var revoke = new Command("revoke", "Revokes sessions: every session of a user (--user U), or one session by handle. Their cookies stop working at once.") { handle, user };
        revoke.SetAction((r, ct) => Run(r, output, error, ct, (host, console, json, token) => RevokeAsync(host, console, json, r.GetValue(user), r.GetValue(handle), token)));
        root.Subcommands.Add(revoke);

        var purge = new Command("purge", "Deletes expired sessions, for stores without native expiry (file system, SQL, ...); a no-op with a note for the others.");
        purge.SetAction((r, ct) => Run(r, output, error, ct, PurgeAsync));
        root.Subcommands.Add(purge);

        var stats = new Command("stats", "Counts the live sessions by age and by size, and the signed-in users.");
        stats.SetAction((r, ct) => Run(r, output, error, ct, StatsAsync));
        root.Subcommands.Add(stats);

        var from = new Option<string>("--from") { Description = "The registered backend to copy from (its settings: Sessions:<Backend>).", Required = true };
        var to = new Option<string>("--to") { Description = "The registered backend to copy to.", Required = true };
        var move = new Option<bool>("--move")
        {
            Description = "Moves instead of copying: each session is deleted from the source once it is in the target (the migrating backend's move). The default when Sessions:Migration names the same two stores, so a session destroyed during the copy cannot come back.",
        };
        var limit = new Option<long?>("--limit") { Description = "Stops after this many records; run again to go on (records already copied are skipped)." };
        var copy = new Command("copy", "Copies every live session and user index from one store to another: conditional (never overwrites a newer record), idempotent, resumable by running it again.") { from, to, move, limit };
        copy.SetAction((r, ct) => Run(r, output, error, ct, (host, console, json, token) => CopyAsync(host, console, json, r.GetValue(from)!, r.GetValue(to)!, r.GetValue(move), r.GetValue(limit), copyProgress, token)));
        root.Subcommands.Add(copy);
        return root;
    }

    private static async Task<int> Run(
        ParseResult parsed,
        TextWriter output,
        TextWriter error,
        CancellationToken cancellationToken,
        Func<ToolHost, IAnsiConsole, bool, CancellationToken, Task<int>> command)
    {
        var json = parsed.GetValue(JsonOption);
        var settings = new HostSettings(
            parsed.GetValue(ConfigOption),
            parsed.GetValue(EnvironmentOption),
            parsed.GetValue(SectionOption) ?? "Sessions",
            parsed.GetValue(BackendOption),
            parsed.GetValue(BackendAssemblyOption) ?? []);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = ReferenceEquals(output, Console.Out) ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ReferenceEquals(output, Console.Out) ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = ReferenceEquals(output, Console.Out) ? InteractionSupport.Detect : InteractionSupport.No,
        });
        IConfiguration? configuration = null;
        try
        {
            await using var host = ToolHost.Create(settings);
            configuration = host.Configuration;
            return await command(host, console, json, cancellationToken).ConfigureAwait(false);
        }
        catch (ToolException ex)
        {
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ex.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("Interrupted. What was done stays done; run the command again to continue.").ConfigureAwait(false);
            return ExitCodes.Interrupted;
        }
        catch (NotSupportedException ex)
        {
            // A backend that cannot do what the command needs (a migration whose old or new store cannot list its keys).
            await error.WriteLineAsync($"error: {ex.Message}").ConfigureAwait(false);
            return ExitCodes.Unsupported;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            await error.WriteLineAsync($"error: {StoreFailure(ex, settings, configuration)}").ConfigureAwait(false);
            return ExitCodes.Store;
        }
    }

    /// <summary>
    /// What to say when a store failed: which store, and the setting that points at it. A failure that the command
    /// attributed (<c>copy</c> talks to two stores) names that store; otherwise it is the store in force, that is
    /// <c>Sessions:Backend</c>, or both stores of a <c>Sessions:Migration</c>.
    /// </summary>
    private static string StoreFailure(Exception ex, HostSettings settings, IConfiguration? configuration)
    {
        var section = settings.SectionName;
        string Locator(string name) => StoreSettings.LocatorOf(name, section, configuration);
        var cause = ex is StoreFailedException { InnerException: { } inner } ? inner : ex;
        var what = $"({cause.GetType().Name}: {cause.Message})";
        if (ex is StoreFailedException attributed)
        {
            return $"the '{attributed.BackendName}' store failed {what}. Check that it runs and that {Locator(attributed.BackendName)} points at it.";
        }

        var from = configuration?[$"{section}:Migration:From"];
        var to = configuration?[$"{section}:Migration:To"];
        if (!string.IsNullOrEmpty(from) && !string.IsNullOrEmpty(to))
        {
            return $"the store failed {what}. {section}:Migration is in force: check that '{from}' and '{to}' run and that {Locator(from)} and {Locator(to)} point at them.";
        }

        var backend = settings.Backend ?? configuration?[$"{section}:Backend"];
        return backend is { Length: > 0 }
            ? $"the '{backend}' store failed {what}. Check that it runs and that {Locator(backend)} points at it ({section}:Backend is '{backend}')."
            : $"the store failed {what}. Check that it runs and that {section}:Backend and its settings under {section}:<Backend> point at it.";
    }

    private static async Task<int> ListAsync(ToolHost host, IAnsiConsole console, bool json, int page, int pageSize, CancellationToken cancellationToken)
    {
        if (page < 1 || pageSize is < 1 or > 10_000)
        {
            throw new ToolException(ExitCodes.Usage, "--page must be 1 or more and --page-size 1 to 10000.");
        }

        var store = host.Store;
        var showKey = store.Options.HashIdsAtRest;
        var now = Now(host);
        var keys = await Operations.SessionKeysAsync(store.Backend, store.BackendName, store.Options.KeyPrefix, cancellationToken).ConfigureAwait(false);
        var rows = new List<SessionRow>();
        foreach (var key in keys.Skip((page - 1) * pageSize).Take(pageSize))
        {
            if (await Operations.ReadAsync(store.Backend, key, showKey, now, cancellationToken).ConfigureAwait(false) is { } row)
            {
                rows.Add(row);
            }
        }

        var pages = Math.Max(1, (keys.Count + pageSize - 1) / pageSize);
        if (json)
        {
            WriteJson(console, new
            {
                backend = store.BackendName,
                count = keys.Count,
                page,
                pageSize,
                pages,
                sessions = rows.Select(r => new { handle = r.Handle, key = r.Key, userId = r.UserId, createdAt = NullIfDefault(r.CreatedAt), expiresAt = r.ExpiresAt, bytes = r.PayloadBytes, readable = r.PayloadBytes >= 0 }),
            });
            return ExitCodes.Ok;
        }

        console.WriteLine($"{keys.Count} live session(s) in '{store.BackendName}'; page {page} of {pages}.");
        if (rows.Count > 0)
        {
            var table = new Table().AddColumns("handle", "user", "created (UTC)", "expires (UTC)", "bytes");
            foreach (var r in rows)
            {
                table.AddRow(Markup.Escape(r.Handle), Markup.Escape(r.UserId ?? (r.PayloadBytes < 0 ? "(unreadable)" : "-")), Time(r.CreatedAt), Time(r.ExpiresAt), r.PayloadBytes < 0 ? "?" : r.PayloadBytes.ToString(CultureInfo.InvariantCulture));
            }

            console.Write(table);
        }

        if (page < pages)
        {
            console.WriteLine($"Next page: --page {page + 1}");
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> ShowAsync(ToolHost host, IAnsiConsole console, bool json, string idOrHandle, bool values, CancellationToken cancellationToken)
    {
        var store = host.Store;
        var key = await Operations.FindKeyAsync(store, idOrHandle, cancellationToken).ConfigureAwait(false);
        var row = key is null ? null : await Operations.ReadAsync(store.Backend, key, store.Options.HashIdsAtRest, Now(host), cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            throw new ToolException(ExitCodes.NotFound, $"No live session has the ID or handle '{idOrHandle}' in '{store.BackendName}'. Handles are listed by 'sessions list'.");
        }

        if (json)
        {
            WriteJson(console, new
            {
                handle = row.Handle,
                key = row.Key,
                userId = row.UserId,
                readable = row.PayloadBytes >= 0,
                createdAt = NullIfDefault(row.CreatedAt),
                lastSeenAt = LastSeen(host, row),
                expiresAt = row.ExpiresAt,
                absoluteDeadline = row.AbsoluteDeadline,
                persistent = row.IsPersistent,
                version = row.Version,
                bytes = row.PayloadBytes,
                values = row.Values?.Select(v => new { key = v.Key, bytes = v.Value.Length, value = values ? Render(v.Value.Span) : null }),
            });
            return ExitCodes.Ok;
        }

        var grid = new Table().AddColumns("field", "value");
        grid.AddRow("handle", Markup.Escape(row.Handle));
        if (row.Key is not null)
        {
            grid.AddRow("storage key", Markup.Escape(row.Key));
        }

        grid.AddRow("user", Markup.Escape(row.UserId ?? "-"));
        if (row.PayloadBytes < 0)
        {
            grid.AddRow("payload", "unreadable (corrupt, or written by an incompatible version); the app treats it as no session");
        }
        else
        {
            grid.AddRow("created (UTC)", Time(row.CreatedAt));
            grid.AddRow("last seen (UTC)", Time(LastSeen(host, row)));
            grid.AddRow("expires (UTC)", Time(row.ExpiresAt));
            grid.AddRow("absolute deadline (UTC)", row.AbsoluteDeadline is { } d ? Time(d) : "-");
            grid.AddRow("persistent", row.IsPersistent ? "yes" : "no");
            grid.AddRow("version", row.Version.ToString(CultureInfo.InvariantCulture));
            grid.AddRow("bytes", row.PayloadBytes.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(grid);
        if (row.Values is { Count: > 0 } entries)
        {
            var table = values ? new Table().AddColumns("key", "bytes", "value") : new Table().AddColumns("key", "bytes");
            foreach (var (name, value) in entries)
            {
                var cells = new List<string> { Markup.Escape(name), value.Length.ToString(CultureInfo.InvariantCulture) };
                if (values)
                {
                    cells.Add(Markup.Escape(Render(value.Span)));
                }

                table.AddRow([.. cells]);
            }

            console.Write(table);
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> RevokeAsync(ToolHost host, IAnsiConsole console, bool json, string? user, string? handle, CancellationToken cancellationToken)
    {
        var store = host.Store;
        var manager = host.Manager;
        int revoked;
        string what;
        if (user is null && handle is null)
        {
            throw new ToolException(ExitCodes.Usage, "Say what to revoke: --user <user> for all of a user's sessions, or <handle> for one session (handles are listed by 'sessions list').");
        }

        if (user is not null && handle is null)
        {
            revoked = await manager.RevokeUserSessionsAsync(user, cancellationToken).ConfigureAwait(false);
            what = $"user '{user}'";
        }
        else if (user is not null)
        {
            revoked = await manager.RevokeUserSessionAsync(user, handle!, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            what = $"handle '{handle}' of user '{user}'";
        }
        else
        {
            var key = await Operations.FindKeyAsync(store, handle!, cancellationToken).ConfigureAwait(false)
                ?? throw new ToolException(ExitCodes.NotFound, $"No live session has the handle '{handle}' in '{store.BackendName}'. Handles are listed by 'sessions list'.");
            var row = await Operations.ReadAsync(store.Backend, key, false, Now(host), cancellationToken).ConfigureAwait(false);
            revoked = row?.UserId is { } owner
                ? (await manager.RevokeUserSessionAsync(owner, row.Handle, cancellationToken).ConfigureAwait(false) ? 1 : 0)
                : (await store.Backend.RemoveAsync(key, null, cancellationToken).ConfigureAwait(false) ? 1 : 0);
            what = $"handle '{handle}'";
        }

        if (json)
        {
            WriteJson(console, new { backend = store.BackendName, revoked });
        }
        else
        {
            console.WriteLine($"Revoked {revoked} session(s) ({what}) in '{store.BackendName}'.");
        }

        return revoked == 0 && handle is not null ? ExitCodes.NotFound : ExitCodes.Ok;
    }

    private static async Task<int> PurgeAsync(ToolHost host, IAnsiConsole console, bool json, CancellationToken cancellationToken)
    {
        var store = host.Store;
        var native = store.Backend is not IExpiredSessionPurger;
        long purged = 0;
        if (!native)
        {
            if (json)
            {
                purged = await host.Manager.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
                    .StartAsync(async ctx =>
                    {
                        var task = ctx.AddTask($"Purging expired sessions in '{store.BackendName}'").IsIndeterminate();
                        purged = await host.Manager.PurgeExpiredAsync(cancellationToken).ConfigureAwait(false);
                        task.IsIndeterminate(false).Value(task.MaxValue);
                        task.StopTask();
                    }).ConfigureAwait(false);
            }
        }

        if (json)
        {
            WriteJson(console, new { backend = store.BackendName, purged, nativeExpiry = native });
        }
        else if (native)
        {
            console.WriteLine($"'{store.BackendName}' expires sessions itself; nothing to purge (0 deleted).");
        }
        else
        {
            console.WriteLine($"Purged {purged} expired record(s) from '{store.BackendName}'.");
        }

        return ExitCodes.Ok;
    }

    private static readonly (string Label, TimeSpan Upper)[] AgeBuckets =
    [
        ("< 1 h", TimeSpan.FromHours(1)),
        ("1 h - 1 d", TimeSpan.FromDays(1)),
        ("1 d - 7 d", TimeSpan.FromDays(7)),
        ("7 d - 30 d", TimeSpan.FromDays(30)),
        (">= 30 d", TimeSpan.MaxValue),
    ];

    private static readonly (string Label, long Upper)[] SizeBuckets =
    [
        ("<= 1 KiB", 1024),
        ("<= 4 KiB", 4 * 1024),
        ("<= 16 KiB", 16 * 1024),
        ("<= 64 KiB", 64 * 1024),
        ("<= 256 KiB", 256 * 1024),
        ("> 256 KiB", long.MaxValue),
    ];

    private static async Task<int> StatsAsync(ToolHost host, IAnsiConsole console, bool json, CancellationToken cancellationToken)
    {
        var store = host.Store;
        var now = Now(host);
        var keys = await Operations.SessionKeysAsync(store.Backend, store.BackendName, store.Options.KeyPrefix, cancellationToken).ConfigureAwait(false);
        var ages = new long[AgeBuckets.Length];
        var sizes = new long[SizeBuckets.Length];
        long live = 0, unreadable = 0, totalBytes = 0;
        var users = new HashSet<string>(StringComparer.Ordinal);

        async Task ScanAsync(Action? step)
        {
            foreach (var key in keys)
            {
                var row = await Operations.ReadAsync(store.Backend, key, false, now, cancellationToken).ConfigureAwait(false);
                step?.Invoke();
                if (row is null)
                {
                    continue;
                }

                live++;
                if (row.PayloadBytes < 0)
                {
                    unreadable++;
                    continue;
                }

                totalBytes += row.PayloadBytes;
                var age = now - row.CreatedAt;
                ages[Array.FindIndex(AgeBuckets, b => age < b.Upper)]++;
                sizes[Array.FindIndex(SizeBuckets, b => row.PayloadBytes <= b.Upper)]++;
                if (row.UserId is { } user)
                {
                    users.Add(user);
                }
            }
        }

        if (json)
        {
            await ScanAsync(null).ConfigureAwait(false);
            WriteJson(console, new
            {
                backend = store.BackendName,
                count = live,
                unreadable,
                users = users.Count,
                totalBytes,
                byAge = AgeBuckets.Select((b, i) => new { bucket = b.Label, count = ages[i] }),
                bySize = SizeBuckets.Select((b, i) => new { bucket = b.Label, count = sizes[i] }),
            });
            return ExitCodes.Ok;
        }

        await console.Progress().AutoClear(true).StartAsync(async ctx =>
        {
            var task = ctx.AddTask($"Reading {keys.Count} session(s)", maxValue: Math.Max(1, keys.Count));
            await ScanAsync(() => task.Increment(1)).ConfigureAwait(false);
        }).ConfigureAwait(false);

        console.WriteLine($"{live} live session(s) in '{store.BackendName}', {users.Count} signed-in user(s), {totalBytes} bytes; {unreadable} unreadable.");
        var byAge = new Table().AddColumns("age", "sessions");
        for (var i = 0; i < AgeBuckets.Length; i++)
        {
            byAge.AddRow(AgeBuckets[i].Label, Count(ages[i], live, 30));
        }

        var bySize = new Table().AddColumns("size", "sessions");
        for (var i = 0; i < SizeBuckets.Length; i++)
        {
            bySize.AddRow(SizeBuckets[i].Label, Count(sizes[i], live, 30));
        }

        console.Write(byAge);
        console.Write(bySize);
        return ExitCodes.Ok;
    }

    private static async Task<int> CopyAsync(ToolHost host, IAnsiConsole console, bool json, string from, string to, bool move, long? limit, Action<CopyCounts>? progress, CancellationToken cancellationToken)
    {
        var migration = host.Options.Migration;
        move |= string.Equals(migration.From, from, StringComparison.OrdinalIgnoreCase) && string.Equals(migration.To, to, StringComparison.OrdinalIgnoreCase);
        if (string.Equals(from, to, StringComparison.OrdinalIgnoreCase))
        {
            throw new ToolException(ExitCodes.Usage, "--from and --to name the same backend; name two registered backends.");
        }

        if (limit is <= 0)
        {
            throw new ToolException(ExitCodes.Usage, "--limit must be 1 or more.");
        }

        var source = host.CreateBackend(from);
        var target = host.CreateBackend(to);
        var prefix = host.Options.KeyPrefix;
        var time = host.Services.GetRequiredService<TimeProvider>();
        CopyCounts counts;
        if (json)
        {
            counts = await Operations.CopyAsync(source, from, target, to, prefix, time, limit, move, progress, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            counts = null!;
            await console.Progress().AutoClear(false).Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new SpinnerColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var verb = move ? "Moving" : "Copying";
                    var task = ctx.AddTask($"{verb} '{from}' to '{to}'").IsIndeterminate();
                    counts = await Operations.CopyAsync(source, from, target, to, prefix, time, limit, move, c =>
                    {
                        task.Description = $"{verb} '{from}' to '{to}': {c.Seen} record(s)";
                        progress?.Invoke(c);
                    }, cancellationToken).ConfigureAwait(false);
                    task.IsIndeterminate(false).Value(task.MaxValue);
                    task.StopTask();
                }).ConfigureAwait(false);
        }

        var complete = limit is null || counts.Seen < limit;
        if (json)
        {
            WriteJson(console, new
            {
                from,
                to,
                mode = move ? "move" : "copy",
                complete,
                seen = counts.Seen,
                copied = counts.Copied,
                updated = counts.Updated,
                merged = counts.Merged,
                upToDate = counts.UpToDate,
                newerInTarget = counts.NewerInTarget,
                gone = counts.Gone,
                conflicts = counts.Conflicts,
            });
        }
        else
        {
            console.WriteLine(
                $"{counts.Seen} record(s) read from '{from}': {counts.Copied} copied, {counts.Updated} updated, {counts.Merged} user index(es) merged, " +
                $"{counts.UpToDate} already up to date, {counts.NewerInTarget} newer in '{to}' (left alone), {counts.Gone} gone" +
                (move ? $", {counts.Conflicts} changed during their move (run again)." : "."));
            console.WriteLine(complete ? "Copy complete." : $"Stopped at --limit {limit}; run the same command again to go on.");
        }

        return ExitCodes.Ok;
    }

    private static DateTimeOffset Now(ToolHost host) => host.Services.GetRequiredService<TimeProvider>().GetUtcNow();

    private static DateTimeOffset? NullIfDefault(DateTimeOffset value) => value == default ? null : value;

    private static DateTimeOffset LastSeen(ToolHost host, SessionRow row)
    {
        var lastSeen = row.ExpiresAt - host.Options.IdleTimeout;
        return lastSeen < row.CreatedAt ? row.CreatedAt : lastSeen;
    }

    private static string Time(DateTimeOffset value) =>
        value == default ? "?" : value.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Count(long count, long total, int width)
    {
        var bar = total == 0 ? 0 : (int)Math.Round(width * (double)count / total);
        return $"{count,8} {new string('#', bar)}";
    }

    private static string Render(ReadOnlySpan<byte> value)
    {
        try
        {
            var text = new UTF8Encoding(false, true).GetString(value);
            if (!text.Any(c => char.IsControl(c) && c is not '\n' and not '\r' and not '\t'))
            {
                return text;
            }
        }
        catch (DecoderFallbackException)
        {
            // Not UTF-8: base64 below.
        }

        return "base64:" + Convert.ToBase64String(value);
    }

    private static void WriteJson(IAnsiConsole console, object value) =>
        console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(value, Json));
}

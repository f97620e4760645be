using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Authentication;

namespace Sessions.Redis.Protocol;

/// <summary>
/// The connection to one server, as the rest of the client sees it: one <see cref="PhysicalConnection"/> at a time,
/// replaced in the background with growing delays (50 ms doubling to 2 s) when it fails. While no connection is up,
/// commands fail at once with the reason (refused, unreachable, bad credentials) instead of waiting out a timeout;
/// only the very first command waits for the first attempt.
/// </summary>
internal sealed class EndpointConnection : IAsyncDisposable, IDisposable
{
    private const string ConfigurationHint = "Set Sessions:Redis:Configuration";
    private static readonly TimeSpan s_firstRetryDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan s_maxRetryDelay = TimeSpan.FromSeconds(2);

    private readonly RedisConfiguration _configuration;
    private readonly RemoteCertificateValidationCallback? _certificateValidation;
    private readonly Lock _lock = new();
    private readonly CancellationTokenSource _disposed = new();
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Timer _timeoutTimer;
    private readonly long _commandTimeoutMs;
    private PhysicalConnection? _current;
    private Task? _connectLoop;
    private Exception? _lastError;
    private bool _isDisposed;
    private int _protocol; // a RedisProtocol once a connection is up; read without the lock

    public EndpointConnection(RedisEndpoint endpoint, RedisConfiguration configuration, RemoteCertificateValidationCallback? certificateValidation)
    {
        Endpoint = endpoint;
        _configuration = configuration;
        _certificateValidation = certificateValidation;
        _commandTimeoutMs = (long)configuration.CommandTimeout.TotalMilliseconds;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_commandTimeoutMs / 10, 10, 250));
        _timeoutTimer = new Timer(static s => ((EndpointConnection)s!).ExpireOverdue(), this, period, period);
    }

    public RedisEndpoint Endpoint { get; }

    /// <summary>The protocol the current (or last) connection agreed on; <see langword="null"/> before the first one.</summary>
    public RedisProtocol? Protocol => Volatile.Read(ref _protocol) is var p and not 0 ? (RedisProtocol)p : null;

    /// <summary>Sends one command and returns its reply (error replies included; they are the caller's to judge).</summary>
    /// <param name="args">The command name and its arguments.</param>
    /// <param name="asking">Send <c>ASKING</c> right before it (cluster ASK redirect).</param>
    /// <param name="cancellationToken">Stops waiting; the reply, if any, is discarded.</param>
    public ValueTask<RespValue> SendAsync(ReadOnlySpan<RedisArg> args, bool asking, CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
            ? ValueTask.FromCanceled<RespValue>(cancellationToken)
            : SendAsync(EncodedCommand.Encode(args), asking, ownsCommand: true, cancellationToken);

    /// <summary>Sends an encoded command; see <see cref="SendAsync(ReadOnlySpan{RedisArg}, bool, CancellationToken)"/>.</summary>
    /// <param name="command">The command's bytes.</param>
    /// <param name="asking">Send <c>ASKING</c> right before it (cluster ASK redirect).</param>
    /// <param name="ownsCommand">Return the command's buffer once it cannot be written any more; otherwise the caller
    /// returns it after the returned task completes (it may send it again first, after a redirect).</param>
    /// <param name="cancellationToken">Stops waiting; the reply, if any, is discarded.</param>
    public ValueTask<RespValue> SendAsync(in EncodedCommand command, bool asking, bool ownsCommand, CancellationToken cancellationToken)
    {
        var connection = Volatile.Read(ref _current);
        return connection is not null && connection.Failure is null && !cancellationToken.IsCancellationRequested
            ? Send(connection, command, asking, ownsCommand, cancellationToken)
            : SendWhenConnectedAsync(command, asking, ownsCommand, cancellationToken);
    }

    /// <summary>Closes the connection and stops reconnecting, then waits for the background work to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Close() is not var (current, connectLoop))
        {
            return;
        }

        await _timeoutTimer.DisposeAsync().ConfigureAwait(false);
        if (current is not null)
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }

        if (connectLoop is not null)
        {
            await connectLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    /// <summary>Closes the connection and stops reconnecting without waiting: what is in flight fails at once, and the
    /// background loops end by themselves.</summary>
    public void Dispose()
    {
        if (Close() is var (current, _))
        {
            _timeoutTimer.Dispose();
            if (current is not null)
            {
                _ = current.DisposeAsync().AsTask(); // fails everything in flight synchronously; the rest is clean-up
            }
        }
    }

    /// <summary>Marks the endpoint disposed (once) and cancels reconnecting; returns what is left to close.</summary>
    private (PhysicalConnection? Current, Task? ConnectLoop)? Close()
    {
        PhysicalConnection? current;
        Task? connectLoop;
        lock (_lock)
        {
            if (_isDisposed)
            {
                return null;
            }

            _isDisposed = true;
            current = _current;
            _current = null;
            connectLoop = _connectLoop;
        }

        // Not disposed: a connect loop or a caller may still read its token.
        _disposed.Cancel();
        _firstAttempt.TrySetResult();
        return (current, connectLoop);
    }

    private ValueTask<RespValue> Send(PhysicalConnection connection, in EncodedCommand encoded, bool asking, bool ownsCommand, CancellationToken cancellationToken)
    {
        var command = new PendingCommand(encoded, Environment.TickCount64 + _commandTimeoutMs, asking, ownsCommand);
        command.RegisterCancellation(cancellationToken);
        return connection.SendAsync(command);
    }

    private ValueTask<RespValue> Send(PhysicalConnection connection, ReadOnlySpan<RedisArg> args, CancellationToken cancellationToken) =>
        Send(connection, EncodedCommand.Encode(args), asking: false, ownsCommand: true, cancellationToken);

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<RespValue> SendWhenConnectedAsync(EncodedCommand command, bool asking, bool ownsCommand, CancellationToken cancellationToken)
    {
        PhysicalConnection? connection;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            Task firstAttempt;
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_isDisposed, this);
                _connectLoop ??= Task.Run(ConnectLoopAsync, CancellationToken.None);
                firstAttempt = _firstAttempt.Task;
            }

            await firstAttempt.WaitAsync(cancellationToken).ConfigureAwait(false);
            connection = Volatile.Read(ref _current);
            if (connection is null || connection.Failure is not null)
            {
                ObjectDisposedException.ThrowIf(_isDisposed, this);
                var reason = Volatile.Read(ref _lastError) ?? connection?.Failure;
                throw new RedisConnectionException(reason?.Message ?? $"Redis at {Endpoint} is not connected; reconnecting.", reason);
            }
        }
        catch when (ownsCommand)
        {
            command.Return(); // never handed to a connection
            throw;
        }

        return await Send(connection, command, asking, ownsCommand, cancellationToken).ConfigureAwait(false);
    }

    private void OnConnectionFailed(PhysicalConnection connection, Exception reason)
    {
        lock (_lock)
        {
            if (!ReferenceEquals(_current, connection) || _isDisposed)
            {
                return;
            }

            _current = null;
            _lastError = reason;
            if (_connectLoop is null || _connectLoop.IsCompleted)
            {
                _connectLoop = Task.Run(ConnectLoopAsync);
            }
        }

        // Its commands have all failed by now; what remains is returning its buffers once its loops have ended.
        _ = Task.Run(() => connection.DisposeAsync().AsTask());
    }

    private async Task ConnectLoopAsync()
    {
        var delay = s_firstRetryDelay;
        var token = _disposed.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                var connection = await ConnectOnceAsync(token).ConfigureAwait(false);
                bool installed;
                lock (_lock)
                {
                    if (_isDisposed)
                    {
                        _ = connection.DisposeAsync().AsTask();
                        return;
                    }

                    // A connection that failed right after its handshake is not installed: its failure found no current
                    // connection to replace, so nothing else would reconnect. This loop keeps trying instead.
                    installed = connection.Failure is null;
                    if (installed)
                    {
                        _current = connection;
                        _lastError = null;
                        Volatile.Write(ref _protocol, (int)connection.Protocol);
                        _connectLoop = null;
                    }
                }

                if (installed)
                {
                    _firstAttempt.TrySetResult();
                    return;
                }

                Volatile.Write(ref _lastError, connection.Failure);
                _firstAttempt.TrySetResult();
                _ = connection.DisposeAsync().AsTask();
            }
            catch (Exception e) when (!token.IsCancellationRequested)
            {
                Volatile.Write(ref _lastError, e);
                _firstAttempt.TrySetResult();
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await Task.Delay(delay, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, s_maxRetryDelay.Ticks));
        }
    }

    private async Task<PhysicalConnection> ConnectOnceAsync(CancellationToken disposed)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(disposed);
        timeout.CancelAfter(_configuration.ConnectTimeout);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        Stream stream;
        try
        {
            await socket.ConnectAsync(Endpoint.Host, Endpoint.Port, timeout.Token).ConfigureAwait(false);
            stream = new NetworkStream(socket, ownsSocket: true);
        }
        catch (Exception e)
        {
            socket.Dispose();
            throw e switch
            {
                SocketException { SocketErrorCode: SocketError.ConnectionRefused } =>
                    new RedisConnectionException($"Redis at {Endpoint} refused the connection; is the server running? {ConfigurationHint}.", e),
                SocketException { SocketErrorCode: SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain } =>
                    new RedisConnectionException($"The Redis host \"{Endpoint.Host}\" could not be resolved. {ConfigurationHint}.", e),
                OperationCanceledException when !disposed.IsCancellationRequested =>
                    new RedisConnectionException(
                        $"Redis at {Endpoint} did not accept the connection within {_configuration.ConnectTimeout.TotalMilliseconds:F0} ms (connectTimeout); check the host, port and firewall. {ConfigurationHint}.", e),
                SocketException se =>
                    new RedisConnectionException($"Could not connect to Redis at {Endpoint}: {se.Message} ({se.SocketErrorCode}). {ConfigurationHint}.", e),
                _ => e,
            };
        }

        if (_configuration.Ssl)
        {
            stream = await AuthenticateTlsAsync(stream, timeout.Token).ConfigureAwait(false);
        }

        var connection = new PhysicalConnection(stream, Endpoint.ToString(), OnConnectionFailed);
        connection.Start();
        try
        {
            connection.Protocol = await HandshakeAsync(connection, timeout.Token).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            if (e is OperationCanceledException && !disposed.IsCancellationRequested)
            {
                throw new RedisConnectionException(
                    $"Redis at {Endpoint} accepted the connection but did not answer within {_configuration.ConnectTimeout.TotalMilliseconds:F0} ms (connectTimeout); is it a Redis server{(_configuration.Ssl ? " speaking TLS" : " (does it expect TLS? add ssl=true)")}? {ConfigurationHint}.",
                    e);
            }

            throw;
        }
    }

    private async Task<Stream> AuthenticateTlsAsync(Stream stream, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = _configuration.SslHost ?? Endpoint.Host,
                    RemoteCertificateValidationCallback = _certificateValidation,
                },
                cancellationToken).ConfigureAwait(false);
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException)
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw new RedisConnectionException(
                $"The TLS handshake with Redis at {Endpoint} failed: {e.Message} Check that the server has TLS enabled on this port and that its certificate is trusted and matches \"{_configuration.SslHost ?? Endpoint.Host}\" (sslHost). {ConfigurationHint}.",
                e);
        }
    }

    /// <summary>Authenticates, selects the database, names the connection and agrees on the protocol; returns the protocol.</summary>
    private async Task<RedisProtocol> HandshakeAsync(PhysicalConnection connection, CancellationToken cancellationToken)
    {
        if (_configuration.Protocol != RedisProtocol.Resp2)
        {
            // HELLO 3 carries the credentials and the name; SELECT and PING are queued right behind it (one write, as a rule), so a server that
            // speaks RESP3 costs one round trip. When HELLO fails, their replies (NOAUTH, say) are moot: start over in RESP2.
            var hello = Send(connection, HelloCommand(), cancellationToken).AsTask();
            var rest = SendSelectAndPing(connection, cancellationToken);
            var reply = await hello.ConfigureAwait(false);
            if (!reply.IsError)
            {
                await JudgeAsync(rest).ConfigureAwait(false);
                return ProtocolOf(reply);
            }

            await Task.WhenAll(rest.Select(step => step.Reply)).ConfigureAwait(false);
            var text = reply.AsString();
            if (reply.IsErrorWithPrefix("WRONGPASS"u8))
            {
                throw new RedisConnectionException($"Redis at {Endpoint} rejected the credentials: {text}. Check user and password. {ConfigurationHint}.");
            }

            if (_configuration.Protocol == RedisProtocol.Resp3)
            {
                throw new RedisConnectionException(
                    $"Redis at {Endpoint} does not speak RESP3 (HELLO 3 answered: {text}); remove protocol=resp3 to fall back to RESP2. {ConfigurationHint}.");
            }

            // Older servers ("ERR unknown command 'HELLO'"), NOPROTO, or HELLO without credentials on a server that wants
            // them (NOAUTH: the RESP2 path below then says a password is needed).
        }

        // RESP2, pipelined: every handshake command goes out in one write; the replies are judged in order.
        var steps = new List<(string What, Task<RespValue> Reply)>();
        if (_configuration.Password is { } password)
        {
            RedisArg[] auth = _configuration.User is { } user ? ["AUTH", user, password] : ["AUTH", password];
            steps.Add(("AUTH", Send(connection, auth, cancellationToken).AsTask()));
        }

        if (_configuration.ClientName is { } name)
        {
            steps.Add(("CLIENT SETNAME", Send(connection, ["CLIENT", "SETNAME", name], cancellationToken).AsTask()));
        }

        steps.AddRange(SendSelectAndPing(connection, cancellationToken));
        await JudgeAsync(steps).ConfigureAwait(false);
        return RedisProtocol.Resp2;
    }

    /// <summary><c>HELLO 3 [AUTH user password] [SETNAME name]</c>; without a user, AUTH names the <c>default</c> user, as a
    /// password-only <c>AUTH</c> does.</summary>
    private RedisArg[] HelloCommand()
    {
        var args = new List<RedisArg> { "HELLO", 3 };
        if (_configuration.Password is { } password)
        {
            args.AddRange(["AUTH", _configuration.User ?? "default", password]);
        }

        if (_configuration.ClientName is { } name)
        {
            args.AddRange(["SETNAME", name]);
        }

        return [.. args];
    }

    private List<(string What, Task<RespValue> Reply)> SendSelectAndPing(PhysicalConnection connection, CancellationToken cancellationToken)
    {
        var steps = new List<(string What, Task<RespValue> Reply)>();
        if (_configuration.Database != 0)
        {
            steps.Add(("SELECT", Send(connection, ["SELECT", _configuration.Database], cancellationToken).AsTask()));
        }

        steps.Add(("PING", Send(connection, ["PING"], cancellationToken).AsTask()));
        return steps;
    }

    private async Task JudgeAsync(List<(string What, Task<RespValue> Reply)> steps)
    {
        foreach (var (what, pending) in steps)
        {
            var reply = await pending.ConfigureAwait(false);
            if (!reply.IsError)
            {
                continue;
            }

            var text = reply.AsString();
            throw what switch
            {
                "AUTH" => new RedisConnectionException($"Redis at {Endpoint} rejected the credentials: {text}. Check user and password. {ConfigurationHint}."),
                "PING" when reply.IsErrorWithPrefix("NOAUTH"u8) => new RedisConnectionException($"Redis at {Endpoint} requires a password ({text}); add password=... (and user=... for an ACL user). {ConfigurationHint}."),
                "SELECT" => new RedisConnectionException($"Redis at {Endpoint} refused database {_configuration.Database}: {text}. Check defaultDatabase. {ConfigurationHint}."),
                _ => new RedisConnectionException($"Redis at {Endpoint} refused {what} while connecting: {text}."),
            };
        }
    }

    /// <summary>The protocol a successful <c>HELLO</c> reply (a map with a <c>proto</c> entry) reports.</summary>
    private static RedisProtocol ProtocolOf(RespValue hello)
    {
        var items = hello.Items ?? [];
        for (var i = 0; i + 1 < items.Length; i += 2)
        {
            if (items[i].Bytes is { } key && key.AsSpan().SequenceEqual("proto"u8))
            {
                return items[i + 1].Type == RespType.Integer && items[i + 1].Integer == 2 ? RedisProtocol.Resp2 : RedisProtocol.Resp3;
            }
        }

        return RedisProtocol.Resp3;
    }

    private void ExpireOverdue()
    {
        var connection = Volatile.Read(ref _current);
        connection?.ExpireOverdue(
            Environment.TickCount64,
            command => new TimeoutException(
                $"Redis at {Endpoint} did not answer {command.Name} within {_commandTimeoutMs} ms (commandTimeout); {connection.InFlight} commands were in flight on the connection."));
    }
}

using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace Sessions.Redis.Protocol;

/// <summary>
/// The connection to one server, as the rest of the client sees it: one <see cref="PhysicalConnection"/> at a time,
/// replaced in the background with growing delays (50 ms doubling to 2 s) when it fails. While no connection is up,
/// commands fail at once with the reason (refused, unreachable, bad credentials) instead of waiting out a timeout;
/// only the very first command waits for the first attempt.
/// </summary>
internal sealed class EndpointConnection : IAsyncDisposable
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

    /// <summary>Sends one command and returns its reply (error replies included; they are the caller's to judge).</summary>
    /// <param name="args">The command name and its arguments.</param>
    /// <param name="asking">Send <c>ASKING</c> right before it (cluster ASK redirect).</param>
    /// <param name="cancellationToken">Stops waiting; the reply, if any, is discarded.</param>
    public ValueTask<RespValue> SendAsync(RedisArg[] args, bool asking, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return ValueTask.FromCanceled<RespValue>(cancellationToken);
        }

        var connection = Volatile.Read(ref _current);
        return connection is not null && connection.Failure is null
            ? Send(connection, args, asking, cancellationToken)
            : SendWhenConnectedAsync(args, asking, cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        PhysicalConnection? current;
        lock (_lock)
        {
            if (_isDisposed)
            {
                return;
            }

            _isDisposed = true;
            current = _current;
            _current = null;
        }

        await _disposed.CancelAsync().ConfigureAwait(false);

        await _timeoutTimer.DisposeAsync().ConfigureAwait(false);
        if (current is not null)
        {
            await current.DisposeAsync().ConfigureAwait(false);
        }

        if (_connectLoop is { } loop)
        {
            await loop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _firstAttempt.TrySetResult();
        _disposed.Dispose();
    }

    private ValueTask<RespValue> Send(PhysicalConnection connection, RedisArg[] args, bool asking, CancellationToken cancellationToken)
    {
        var command = new PendingCommand(args, Environment.TickCount64 + _commandTimeoutMs, asking);
        command.RegisterCancellation(cancellationToken);
        return connection.SendAsync(command);
    }

    private async ValueTask<RespValue> SendWhenConnectedAsync(RedisArg[] args, bool asking, CancellationToken cancellationToken)
    {
        Task firstAttempt;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_isDisposed, this);
            _connectLoop ??= Task.Run(ConnectLoopAsync, CancellationToken.None);
            firstAttempt = _firstAttempt.Task;
        }

        await firstAttempt.WaitAsync(cancellationToken).ConfigureAwait(false);
        var connection = Volatile.Read(ref _current);
        if (connection is null || connection.Failure is not null)
        {
            ObjectDisposedException.ThrowIf(_isDisposed, this);
            var reason = Volatile.Read(ref _lastError) ?? connection?.Failure;
            throw new RedisConnectionException(reason?.Message ?? $"Redis at {Endpoint} is not connected; reconnecting.", reason);
        }

        return await Send(connection, args, asking, cancellationToken).ConfigureAwait(false);
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
                lock (_lock)
                {
                    if (_isDisposed)
                    {
                        _ = connection.DisposeAsync().AsTask();
                        return;
                    }

                    _current = connection;
                    _lastError = null;
                    _connectLoop = null;
                }

                _firstAttempt.TrySetResult();
                return;
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
            await HandshakeAsync(connection, timeout.Token).ConfigureAwait(false);
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

    private async Task HandshakeAsync(PhysicalConnection connection, CancellationToken cancellationToken)
    {
        // Pipelined: every handshake command goes out in one write; the replies are judged in order.
        var steps = new List<(string What, Task<RespValue> Reply)>();
        if (_configuration.Password is { } password)
        {
            RedisArg[] auth = _configuration.User is { } user ? ["AUTH", user, password] : ["AUTH", password];
            steps.Add(("AUTH", Send(connection, auth, false, cancellationToken).AsTask()));
        }

        if (_configuration.Database != 0)
        {
            steps.Add(("SELECT", Send(connection, ["SELECT", _configuration.Database], false, cancellationToken).AsTask()));
        }

        if (_configuration.ClientName is { } name)
        {
            steps.Add(("CLIENT SETNAME", Send(connection, ["CLIENT", "SETNAME", name], false, cancellationToken).AsTask()));
        }

        steps.Add(("PING", Send(connection, ["PING"], false, cancellationToken).AsTask()));
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

    private void ExpireOverdue()
    {
        var connection = Volatile.Read(ref _current);
        connection?.ExpireOverdue(
            Environment.TickCount64,
            command => new TimeoutException(
                $"Redis at {Endpoint} did not answer {command.Name} within {_commandTimeoutMs} ms (commandTimeout); {connection.InFlight} commands were in flight on the connection."));
    }
}

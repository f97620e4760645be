using System.Net.Sockets;

namespace Sessions.Memcached.Protocol;

/// <summary>
/// One TCP connection to one server, pipelined: any number of callers write commands back to back and one read loop
/// hands each reply to the oldest waiting caller (memcached answers in order).
/// </summary>
/// <remarks>
/// <para>Ordering: a caller joins the reply queue and writes its command under one lock, so queue order is wire order.</para>
/// <para>Cancellation: a caller that gives up after its command was written leaves its place in the queue; the read
/// loop still reads that reply and drops it, so a later caller never gets a stale answer.</para>
/// <para>Timeouts and errors: when the oldest reply is overdue, or the socket fails, or the server sends something
/// unexpected, the connection is faulted: closed, every waiting caller fails, and it is never used again.</para>
/// </remarks>
internal sealed class MemcachedConnection
{
    private const int WriteBufferSize = 16 * 1024;
    private static readonly byte[] s_crlf = "\r\n"u8.ToArray();

    private readonly Socket _socket;
    private readonly MemcachedNode _node;
    private readonly ReplyReader _reader;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly byte[] _writeBuffer = new byte[WriteBufferSize];
    private readonly Queue<PendingReply> _pending = new();
    private readonly Lock _sync = new();
    private Exception? _fault;

    private MemcachedConnection(Socket socket, MemcachedNode node)
    {
        _socket = socket;
        _node = node;
        _reader = new ReplyReader(socket);
        _ = Task.Run(ReadLoopAsync);
    }

    public bool IsFaulted => Volatile.Read(ref _fault) is not null;

    /// <summary>Connects to <paramref name="node"/>, failing after <paramref name="timeout"/>.</summary>
    public static async Task<MemcachedConnection> OpenAsync(MemcachedNode node, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await socket.ConnectAsync(node.EndPoint, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no connection within {timeout.TotalMilliseconds:0} ms");
            }

            return new MemcachedConnection(socket, node);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>Sends <paramref name="request"/> and waits for its reply.</summary>
    /// <param name="request">The command.</param>
    /// <param name="deadline">When the reply is overdue, in <see cref="Environment.TickCount64"/> milliseconds.</param>
    /// <param name="cancellationToken">Abandons the wait (the reply, when it comes, is dropped).</param>
    public async ValueTask<MetaReply> SendAsync(MetaRequest request, long deadline, CancellationToken cancellationToken)
    {
        var pending = new PendingReply(deadline);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            bool queued;
            lock (_sync)
            {
                queued = _fault is null;
                if (queued)
                {
                    _pending.Enqueue(pending);
                }
                else
                {
                    pending.TrySetException(_fault!);
                }
            }

            if (queued)
            {
                // Not cancellable: a half-written command would desynchronise the connection. A stuck write is ended by the
                // timeout check, which closes the socket.
                await WriteAsync(request).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or ObjectDisposedException)
        {
            Fault(_node.ConnectionFailed(ex));
        }
        finally
        {
            _writeLock.Release();
        }

        if (!cancellationToken.CanBeCanceled || pending.Task.IsCompleted)
        {
            return await pending.Task.ConfigureAwait(false);
        }

        using (cancellationToken.UnsafeRegister(static (state, token) => ((PendingReply)state!).TrySetCanceled(token), pending))
        {
            return await pending.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Faults the connection when its oldest reply is overdue at <paramref name="now"/>.</summary>
    public void CheckTimeout(long now)
    {
        PendingReply? oldest;
        lock (_sync)
        {
            _pending.TryPeek(out oldest);
        }

        if (oldest is not null && oldest.Deadline <= now)
        {
            Fault(_node.TimedOut());
        }
    }

    /// <summary>Closes the connection; waiting callers fail with <paramref name="reason"/>.</summary>
    public void Fault(Exception reason)
    {
        PendingReply[] waiting;
        lock (_sync)
        {
            if (_fault is not null)
            {
                return;
            }

            _fault = reason;
            waiting = [.. _pending];
            _pending.Clear();
        }

        // The node forgets this connection (and, on a timeout, marks the server down) before any waiting caller
        // resumes: a caller that retries at once must see the server down, not reach the same silent server again.
        _node.OnConnectionFaulted(this, reason);
        _socket.Dispose();
        foreach (var pending in waiting)
        {
            pending.TrySetException(reason);
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var reply = await _reader.ReadAsync().ConfigureAwait(false);
                PendingReply? oldest;
                lock (_sync)
                {
                    _pending.TryDequeue(out oldest);
                }

                if (oldest is null)
                {
                    Fault(_node.ConnectionFailed(new IOException("memcached sent a reply nobody asked for")));
                    return;
                }

                // A cancelled caller already completed its PendingReply; TrySetResult then just drops the reply.
                oldest.TrySetResult(reply);
                if (reply.Status == MetaStatus.ClientError)
                {
                    // The server may follow a CLIENT_ERROR with more lines (ERROR); the stream can no longer be trusted.
                    Fault(_node.ConnectionFailed(new IOException($"memcached answered {reply.Error}")));
                    return;
                }
            }
        }
        catch (Exception ex)
        {
            Fault(_node.ConnectionFailed(ex));
        }
    }

    private async ValueTask WriteAsync(MetaRequest request)
    {
        var length = MetaCommandWriter.WriteLine(request, _writeBuffer);
        if (request.Command != MetaCommand.Set)
        {
            await SendAllAsync(_writeBuffer.AsMemory(0, length)).ConfigureAwait(false);
            return;
        }

        var total = length + request.ValueLength + 2;
        if (total <= _writeBuffer.Length)
        {
            // The common case, a small session: one send for line, value and CRLF.
            request.ValuePrefix.Span.CopyTo(_writeBuffer.AsSpan(length));
            request.Value.Span.CopyTo(_writeBuffer.AsSpan(length + request.ValuePrefix.Length));
            s_crlf.CopyTo(_writeBuffer.AsSpan(total - 2));
            await SendAllAsync(_writeBuffer.AsMemory(0, total)).ConfigureAwait(false);
            return;
        }

        request.ValuePrefix.Span.CopyTo(_writeBuffer.AsSpan(length));
        await SendAllAsync(_writeBuffer.AsMemory(0, length + request.ValuePrefix.Length)).ConfigureAwait(false);
        await SendAllAsync(request.Value).ConfigureAwait(false);
        await SendAllAsync(s_crlf).ConfigureAwait(false);
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            var sent = await _socket.SendAsync(data, SocketFlags.None).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private sealed class PendingReply(long deadline) : TaskCompletionSource<MetaReply>(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public long Deadline { get; } = deadline;
    }
}

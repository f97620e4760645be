using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;

namespace Sessions.Redis.Protocol;

/// <summary>
/// One open socket to one server, shared by every caller: callers enqueue commands; a single writer loop writes them in
/// batches (whatever queued up while the previous batch was being flushed) and records each in an ordered queue; a single
/// reader loop parses replies and hands each to the oldest command in that queue. Nothing blocks a thread. When the socket
/// fails, every queued and in-flight command fails with the reason and the owner reconnects.
/// </summary>
internal sealed class PhysicalConnection : IAsyncDisposable
{
    private const int FlushThreshold = 64 * 1024;

    private readonly Stream _stream;
    private readonly PipeReader _reader;
    private readonly PipeWriter _writer;
    private readonly string _endpoint;
    private readonly ConcurrentQueue<PendingCommand> _outbound = new();
    private readonly ConcurrentQueue<PendingCommand> _awaitingReply = new();
    private readonly WriteSignal _writeSignal = new();
    private readonly CancellationTokenSource _shutdown = new();
    private readonly Action<PhysicalConnection, Exception> _onFailed;
    private Task _readLoop = Task.CompletedTask;
    private Task _writeLoop = Task.CompletedTask;
    private Exception? _failure;
    private int _writeScheduled;
    private int _disposed;

    public PhysicalConnection(Stream stream, string endpoint, Action<PhysicalConnection, Exception> onFailed)
    {
        _stream = stream;
        _endpoint = endpoint;
        _onFailed = onFailed;
        _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        _writer = PipeWriter.Create(stream, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));
    }

    /// <summary>The protocol the handshake agreed on (RESP2 until then); the parser reads both either way.</summary>
    public RedisProtocol Protocol { get; set; } = RedisProtocol.Resp2;

    /// <summary>Why the connection failed, or <see langword="null"/> while it works.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    public void Start()
    {
        _readLoop = Task.Run(ReadLoopAsync);
        _writeLoop = Task.Run(WriteLoopAsync);
    }

    /// <summary>Queues <paramref name="command"/>; its task completes with the reply or fails.</summary>
    public ValueTask<RespValue> SendAsync(PendingCommand command)
    {
        var result = command.AsValueTask();
        if (Failure is { } failure)
        {
            command.Fail(failure);
            return result;
        }

        _outbound.Enqueue(command);
        if (Interlocked.Exchange(ref _writeScheduled, 1) == 0)
        {
            _writeSignal.Set();
        }

        // A failure that raced with the enqueue: make sure the command is not stranded.
        if (Failure is { } late)
        {
            FailAll(late);
        }

        return result;
    }

    /// <summary>Fails commands whose deadline passed; their replies, when they come, are discarded.</summary>
    public void ExpireOverdue(long now, Func<PendingCommand, Exception> timeout)
    {
        Expire(_outbound, now, timeout);
        Expire(_awaitingReply, now, timeout);

        static void Expire(ConcurrentQueue<PendingCommand> queue, long now, Func<PendingCommand, Exception> timeout)
        {
            foreach (var command in queue)
            {
                if (command.Deadline > now)
                {
                    break; // queued in order, so later ones are not overdue either
                }

                command.Fail(timeout(command));
            }
        }
    }

    public int InFlight => _awaitingReply.Count + _outbound.Count;

    /// <summary>Closes the socket and fails every command with <paramref name="reason"/>.</summary>
    public void Fail(Exception reason)
    {
        if (Interlocked.CompareExchange(ref _failure, reason, null) is not null)
        {
            return;
        }

        _shutdown.Cancel();
        _writeSignal.Set(); // the writer wakes, sees the shutdown and ends
        try
        {
            _stream.Dispose();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
        }

        FailAll(reason);
        _onFailed(this, reason);
    }

    /// <summary>Fails the connection (if it still works) and, once both loops have ended, returns their buffers.</summary>
    public async ValueTask DisposeAsync()
    {
        Fail(new ObjectDisposedException(nameof(RedisClient), "The Redis client was disposed."));
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // The loops catch everything themselves; they only need to finish before their pipes are completed.
        await _readLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _writeLoop.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await _reader.CompleteAsync().ConfigureAwait(false);
        try
        {
            await _writer.CompleteAsync().ConfigureAwait(false); // flushes what is left into the closed stream
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }

        _shutdown.Dispose();
    }

    private void FailAll(Exception reason)
    {
        while (_outbound.TryDequeue(out var command))
        {
            command.Fail(reason);
        }

        while (_awaitingReply.TryDequeue(out var command))
        {
            command.Fail(reason);
        }
    }

    private async Task WriteLoopAsync()
    {
        var shutdown = _shutdown.Token;
        try
        {
            while (!shutdown.IsCancellationRequested)
            {
                await _writeSignal.WaitAsync().ConfigureAwait(false);
                if (shutdown.IsCancellationRequested)
                {
                    break;
                }

                while (true)
                {
                    while (_outbound.TryDequeue(out var command))
                    {
                        if (!command.TryBeginWrite())
                        {
                            continue; // cancelled or timed out before it was written: never sent, no reply to wait for
                        }

                        // Into the reply queue before its bytes can reach the server, so the reply always finds it.
                        _awaitingReply.Enqueue(command);
                        try
                        {
                            command.WriteTo(_writer);
                        }
                        finally
                        {
                            command.EndWrite(); // a failure deferred while it was being written completes it now
                        }

                        if (Failure is { } failure)
                        {
                            // Failed while this command was between the queues: FailAll may have missed it.
                            FailAll(failure);
                            return;
                        }

                        if (_writer.UnflushedBytes >= FlushThreshold)
                        {
                            await FlushAsync(shutdown).ConfigureAwait(false);
                        }
                    }

                    await FlushAsync(shutdown).ConfigureAwait(false);
                    Volatile.Write(ref _writeScheduled, 0);
                    if (_outbound.IsEmpty || Interlocked.Exchange(ref _writeScheduled, 1) != 0)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception e)
        {
            Fail(ConnectionLost(e));
            FailAll(Failure!);
        }
    }

    private async ValueTask FlushAsync(CancellationToken shutdown)
    {
        var result = await _writer.FlushAsync(shutdown).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted)
        {
            throw new IOException("The connection was closed while writing.");
        }
    }

    private async Task ReadLoopAsync()
    {
        var shutdown = _shutdown.Token;
        try
        {
            while (true)
            {
                var result = await _reader.ReadAsync(shutdown).ConfigureAwait(false);
                var buffer = result.Buffer;
                var consumed = Dispatch(buffer);
                _reader.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    throw new IOException("The server closed the connection.");
                }
            }
        }
        catch (Exception e)
        {
            Fail(ConnectionLost(e));
        }
    }

    private SequencePosition Dispatch(ReadOnlySequence<byte> buffer)
    {
        var reader = new SequenceReader<byte>(buffer);
        while (true)
        {
            var start = reader.Consumed;
            if (!RespParser.TryParse(ref reader, out var value))
            {
                return buffer.GetPosition(start);
            }

            if (value.Type == RespType.Push)
            {
                continue; // out-of-band (RESP3 push): not the reply to any command
            }

            if (!_awaitingReply.TryPeek(out var command))
            {
                throw new RedisProtocolException($"Redis at {_endpoint} sent a reply ({value.Describe()}) to no command.");
            }

            if (command.RepliesToSkip > 0)
            {
                command.RepliesToSkip--;
                continue;
            }

            // Only this loop dequeues while the connection works; a FailAll on another thread may have drained the queue
            // between the peek and here, and then what comes out is not the peeked command: it must fail, not be lost.
            _awaitingReply.TryDequeue(out var answered);
            if (ReferenceEquals(answered, command))
            {
                command.Complete(value);
            }
            else
            {
                answered?.Fail(Failure ?? new RedisProtocolException($"Redis at {_endpoint}: a reply lost its command."));
                command.Fail(Failure ?? new RedisProtocolException($"Redis at {_endpoint}: a reply lost its command."));
            }
        }
    }

    private Exception ConnectionLost(Exception e) => e switch
    {
        RedisConnectionException or ObjectDisposedException when Failure is { } failure => failure,
        RedisConnectionException => e,
        OperationCanceledException when Failure is { } failure => failure,
        _ => new RedisConnectionException(
            $"The connection to Redis at {_endpoint} was lost ({e.Message}); commands in flight failed, and the client is reconnecting.", e),
    };
}

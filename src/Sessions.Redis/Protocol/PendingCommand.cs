using System.Buffers;
using System.Threading.Tasks.Sources;

namespace Sessions.Redis.Protocol;

/// <summary>
/// A command on its way through one connection: queued, written, then answered, failed, cancelled or timed out,
/// whichever comes first. Its reply slot stays in the connection's ordered queue until the server answers, even when the
/// caller has stopped waiting, so that later replies still match their commands.
/// </summary>
internal sealed class PendingCommand : IValueTaskSource<RespValue>
{
    private const int Queued = 0;
    private const int Writing = 1;
    private const int Sent = 2;
    private const int Done = 3;

    private static readonly RedisArg[] s_asking = ["ASKING"];

    private readonly RedisArg[] _args;
    private ManualResetValueTaskSourceCore<RespValue> _core;
    private CancellationTokenRegistration _registration;
    private CancellationToken _cancellationToken;
    private Exception? _deferredFailure;
    private int _state;

    public PendingCommand(RedisArg[] args, long deadline, bool asking)
    {
        _args = args;
        Deadline = deadline;
        RepliesToSkip = asking ? 1 : 0;
        _core.RunContinuationsAsynchronously = true;
    }

    /// <summary>When the caller stops waiting (<see cref="Environment.TickCount64"/> milliseconds).</summary>
    public long Deadline { get; }

    /// <summary>Replies to skip before this command's own: 1 when an <c>ASKING</c> goes out right before it (cluster ASK redirect).</summary>
    public int RepliesToSkip { get; set; }

    public string Name => _args[0].ToString();

    public ValueTask<RespValue> AsValueTask() => new(this, _core.Version);

    /// <summary>Fails the command when <paramref name="cancellationToken"/> fires; a reply that arrives later is discarded.</summary>
    public void RegisterCancellation(CancellationToken cancellationToken)
    {
        if (cancellationToken.CanBeCanceled)
        {
            _cancellationToken = cancellationToken;
            _registration = cancellationToken.UnsafeRegister(
                static s =>
                {
                    var command = (PendingCommand)s!;
                    command.Fail(new OperationCanceledException($"The Redis command {command.Name} was cancelled.", command._cancellationToken));
                },
                this);
        }
    }

    /// <summary>Called by the writer: <see langword="false"/> when the caller gave up before the command was written.</summary>
    public bool TryBeginWrite() => Interlocked.CompareExchange(ref _state, Writing, Queued) == Queued;

    public void WriteTo(IBufferWriter<byte> writer)
    {
        if (RepliesToSkip > 0)
        {
            Write(writer, s_asking);
        }

        Write(writer, _args);
    }

    /// <summary>Called by the writer once the arguments are copied out of the caller's buffers.</summary>
    public void EndWrite()
    {
        Interlocked.Exchange(ref _state, Sent);
        if (Volatile.Read(ref _deferredFailure) is { } failure)
        {
            TryFinish(Sent, default, failure);
        }
    }

    /// <summary>The server's reply (error replies included).</summary>
    public void Complete(RespValue value) => TryFinish(Sent, value, null);

    /// <summary>Fails the command now, unless it already finished. A command being written fails as soon as it is written:
    /// until then the caller must keep waiting, because it may reuse its payload buffer as soon as it returns.</summary>
    public void Fail(Exception exception)
    {
        Interlocked.CompareExchange(ref _deferredFailure, exception, null);
        while (true)
        {
            var state = Volatile.Read(ref _state);
            if (state is Done or Writing || TryFinish(state, default, exception))
            {
                return;
            }
        }
    }

    RespValue IValueTaskSource<RespValue>.GetResult(short token) => _core.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<RespValue>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<RespValue>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    private static void Write(IBufferWriter<byte> writer, RedisArg[] args)
    {
        RedisArg.WriteArrayHeader(writer, args.Length);
        foreach (var arg in args)
        {
            arg.WriteTo(writer);
        }
    }

    private bool TryFinish(int fromState, RespValue value, Exception? failure)
    {
        if (Interlocked.CompareExchange(ref _state, Done, fromState) != fromState)
        {
            return false;
        }

        _registration.Unregister();
        if (failure is null)
        {
            _core.SetResult(value);
        }
        else
        {
            _core.SetException(failure);
        }

        return true;
    }
}

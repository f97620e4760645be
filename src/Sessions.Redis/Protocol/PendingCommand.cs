using System.Buffers;
using System.Threading.Tasks.Sources;

namespace Sessions.Redis.Protocol;

/// <summary>
/// A command on its way through one connection: queued, written, then answered, failed, cancelled or timed out,
/// whichever comes first. Its reply slot stays in the connection's ordered queue until the server answers, even when the
/// caller has stopped waiting, so that later replies still match their commands.
/// </summary>
/// <remarks>
/// The outcome reaches the caller through the thread pool (this object is the work item, so the hop allocates nothing):
/// the reader loop never runs callers' continuations itself. Once finished, the writer can no longer touch the command's
/// bytes, so a command that owns its <see cref="EncodedCommand"/> returns the buffer then.
/// </remarks>
internal sealed class PendingCommand : IValueTaskSource<RespValue>, IThreadPoolWorkItem
{
    private const int Queued = 0;
    private const int Writing = 1;
    private const int Sent = 2;
    private const int Done = 3;

    private static readonly byte[] s_asking = "*1\r\n$6\r\nASKING\r\n"u8.ToArray();

    private readonly EncodedCommand _command;
    private readonly bool _ownsCommand;
    private ManualResetValueTaskSourceCore<bool> _core; // the reply is in _value: the core's own slot would double the size
    private CancellationTokenRegistration _registration;
    private CancellationToken _cancellationToken;
    private Exception? _deferredFailure;
    private RespValue _value;
    private Exception? _failure;
    private int _state;

    /// <param name="command">The command's bytes.</param>
    /// <param name="deadline">When the caller stops waiting (<see cref="Environment.TickCount64"/> milliseconds).</param>
    /// <param name="asking">Send <c>ASKING</c> right before it (cluster ASK redirect).</param>
    /// <param name="ownsCommand">Return <paramref name="command"/>'s buffer when finished (a caller that may send it again keeps it).</param>
    public PendingCommand(in EncodedCommand command, long deadline, bool asking, bool ownsCommand)
    {
        _command = command;
        _ownsCommand = ownsCommand;
        Deadline = deadline;
        RepliesToSkip = asking ? 1 : 0;
    }

    /// <summary>When the caller stops waiting (<see cref="Environment.TickCount64"/> milliseconds).</summary>
    public long Deadline { get; }

    /// <summary>Replies to skip before this command's own: 1 when an <c>ASKING</c> goes out right before it (cluster ASK redirect).</summary>
    public int RepliesToSkip { get; set; }

    public string Name => _command.Name;

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
            writer.Write(s_asking);
        }

        writer.Write(_command.Span);
    }

    /// <summary>Called by the writer once the command's bytes are copied out.</summary>
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
    /// until then its bytes are in use, and the caller must not be told it may send them again or release them.</summary>
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

    RespValue IValueTaskSource<RespValue>.GetResult(short token)
    {
        _core.GetResult(token); // throws the failure, or rejects a wrong token
        return _value;
    }

    ValueTaskSourceStatus IValueTaskSource<RespValue>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<RespValue>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _core.OnCompleted(continuation, state, token, flags);

    /// <summary>On a thread-pool thread: hands the outcome to the caller, whose continuation runs right here.</summary>
    void IThreadPoolWorkItem.Execute()
    {
        if (_failure is { } failure)
        {
            _core.SetException(failure);
        }
        else
        {
            _core.SetResult(true);
        }
    }

    private bool TryFinish(int fromState, RespValue value, Exception? failure)
    {
        if (Interlocked.CompareExchange(ref _state, Done, fromState) != fromState)
        {
            return false;
        }

        _registration.Unregister();
        if (_ownsCommand)
        {
            _command.Return();
        }

        _value = value;
        _failure = failure;
        ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: false);
        return true;
    }
}

using System.Net;
using System.Net.Sockets;
using System.Text;
using NUnit.Framework;
using Sessions.Redis.Protocol;

namespace Sessions.Redis.Tests.Protocol;

/// <summary>
/// A connection to a scripted server on loopback that sends RESP3 pushes before, between and after the replies, a byte
/// at a time: no push may be taken for a command's reply, and a push while nothing is pending must not break the connection.
/// </summary>
[TestFixture]
public sealed class PushMessageTests
{
    private const string Push = ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    private const string Invalidate = ">2\r\n$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n";

    [Test]
    public async Task Pushes_interleaved_with_replies_never_answer_a_command()
    {
        await using var pair = await SocketPair.OpenAsync();
        var failures = new List<Exception>();
        var connection = new PhysicalConnection(pair.Client, "scripted server", (_, e) => failures.Add(e));
        connection.Start();
        try
        {
            // A push while no command is pending.
            await pair.SendSlowlyAsync(Push);
            var first = Send(connection, "GET", "a");
            var second = Send(connection, "GET", "b");
            var third = Send(connection, "PING");
            await pair.ReadCommandsAsync(3);

            await pair.SendSlowlyAsync(Invalidate + "$3\r\none\r\n" + Push + Invalidate + "_\r\n" + Push + "+PONG\r\n" + Push);

            Assert.That(RespParserTests.Render(await first.WaitAsync(TimeSpan.FromSeconds(5))), Is.EqualTo("\"one\""));
            Assert.That((await second.WaitAsync(TimeSpan.FromSeconds(5))).IsNull, Is.True);
            Assert.That(RespParserTests.Render(await third.WaitAsync(TimeSpan.FromSeconds(5))), Is.EqualTo("PONG"));

            // The trailing push was read and dropped: the next command still gets its own reply.
            var fourth = Send(connection, "GET", "c");
            await pair.ReadCommandsAsync(1);
            await pair.SendSlowlyAsync("$4\r\nfour\r\n");
            Assert.That(RespParserTests.Render(await fourth.WaitAsync(TimeSpan.FromSeconds(5))), Is.EqualTo("\"four\""));
            Assert.That(connection.Failure, Is.Null);
            Assert.That(failures, Is.Empty);
        }
        finally
        {
            await connection.DisposeAsync();
        }
    }

    private static Task<RespValue> Send(PhysicalConnection connection, params string[] args)
    {
        var encoded = EncodedCommand.Encode([.. args.Select(a => (RedisArg)a)]);
        return connection.SendAsync(new PendingCommand(encoded, Environment.TickCount64 + 5000, asking: false, ownsCommand: true)).AsTask();
    }

    /// <summary>A loopback TCP connection: the client side for the code under test, the server side scripted by the test.</summary>
    private sealed class SocketPair : IAsyncDisposable
    {
        private readonly Socket _server;
        private readonly byte[] _buffer = new byte[4096];
        private string _received = string.Empty;

        private SocketPair(NetworkStream client, Socket server)
        {
            Client = client;
            _server = server;
        }

        public NetworkStream Client { get; }

        public static async Task<SocketPair> OpenAsync()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var client = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            var accepting = listener.AcceptSocketAsync();
            await client.ConnectAsync(listener.LocalEndpoint);
            var server = await accepting;
            server.NoDelay = true;
            return new SocketPair(new NetworkStream(client, ownsSocket: true), server);
        }

        /// <summary>Writes <paramref name="wire"/> one byte per send, so that the client's parser sees every cut.</summary>
        public async Task SendSlowlyAsync(string wire)
        {
            foreach (var b in Encoding.ASCII.GetBytes(wire))
            {
                await _server.SendAsync(new[] { b }, SocketFlags.None);
            }
        }

        /// <summary>Reads until <paramref name="count"/> more commands (RESP arrays) have arrived.</summary>
        public async Task ReadCommandsAsync(int count)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            while (CountCommands(_received) < count)
            {
                var read = await _server.ReceiveAsync(_buffer, SocketFlags.None, timeout.Token);
                Assert.That(read, Is.Positive, "the client closed the connection");
                _received += Encoding.ASCII.GetString(_buffer, 0, read);
            }

            _received = string.Empty;
        }

        public async ValueTask DisposeAsync()
        {
            _server.Dispose();
            await Client.DisposeAsync();
        }

        // Commands are arrays of bulk strings; none of this test's arguments contain '*'.
        private static int CountCommands(string text) => text.Count(c => c == '*');
    }
}

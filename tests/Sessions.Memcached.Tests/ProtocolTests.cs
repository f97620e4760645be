using System.Text;
using NUnit.Framework;
using Sessions.Memcached.Protocol;

namespace Sessions.Memcached.Tests;

// The wire format, without a server: command lines, reply lines and TTLs.
[TestFixture]
public sealed class ProtocolTests
{
    [Test]
    public void Commands_are_written_as_meta_command_lines()
    {
        using (Assert.EnterMultipleScope())
        {
            Assert.That(Line(MetaRequest.Get("k", MetaGetFlags.Value | MetaGetFlags.Cas)), Is.EqualTo("mg k v c\r\n"));
            Assert.That(Line(MetaRequest.Get("k", MetaGetFlags.None, touchTtl: 30)), Is.EqualTo("mg k T30\r\n"));
            Assert.That(Line(MetaRequest.Set("k", new byte[17], new byte[3], 61, MetaSetMode.Add)), Is.EqualTo("ms k 20 T61 ME\r\n"));
            Assert.That(Line(MetaRequest.Set("k", default, new byte[3], 5, MetaSetMode.Set, cas: 12345678901234)), Is.EqualTo("ms k 3 T5 C12345678901234 MS\r\n"));
            Assert.That(Line(MetaRequest.Delete("k", cas: 7)), Is.EqualTo("md k C7\r\n"));
            Assert.That(Line(MetaRequest.NoOp()), Is.EqualTo("mn\r\n"));
        }
    }

    [TestCase("k y")]
    [TestCase("k\r\nmn")]
    [TestCase("")]
    public void A_key_that_would_split_the_command_is_refused(string key)
    {
        Assert.That(() => Line(MetaRequest.Get(key, MetaGetFlags.Value)), Throws.ArgumentException);
    }

    [TestCase("VA 5 c99 t-1 f3\r\n", "Value", 5, 99UL, -1L, 3U)]
    [TestCase("HD c12\r\n", "Success", -1, 12UL, -1L, 0U)]
    [TestCase("HD\r\n", "Success", -1, 0UL, -1L, 0U)]
    [TestCase("EN\r\n", "Miss", -1, 0UL, -1L, 0U)]
    [TestCase("NS\r\n", "NotStored", -1, 0UL, -1L, 0U)]
    [TestCase("EX\r\n", "Exists", -1, 0UL, -1L, 0U)]
    [TestCase("NF\r\n", "NotFound", -1, 0UL, -1L, 0U)]
    [TestCase("MN\r\n", "NoOp", -1, 0UL, -1L, 0U)]
    [TestCase("VA 0 t3456001\r\n", "Value", 0, 0UL, 3456001L, 0U)]
    public void Reply_lines_are_parsed(string line, string status, int valueLength, ulong cas, long ttl, uint flags)
    {
        var reply = ReplyReader.ParseLine(Encoding.ASCII.GetBytes(line), out var length);

        Assert.That((reply.Status, length, reply.Cas, reply.Ttl, reply.ClientFlags), Is.EqualTo((Enum.Parse<MetaStatus>(status), valueLength, cas, ttl, flags)));
    }

    [TestCase("SERVER_ERROR object too large for cache\r\n", "ServerError")]
    [TestCase("CLIENT_ERROR bad command line format\r\n", "ClientError")]
    [TestCase("ERROR\r\n", "ClientError")]
    public void Error_lines_keep_their_text(string line, string status)
    {
        var reply = ReplyReader.ParseLine(Encoding.ASCII.GetBytes(line), out _);

        Assert.That((reply.Status, reply.Error), Is.EqualTo((Enum.Parse<MetaStatus>(status), line.TrimEnd())));
    }

    [TestCase("XX\r\n")]
    [TestCase("VA\r\n")]
    [TestCase("VA x\r\n")]
    [TestCase("HD cQ\r\n")]
    public void Garbage_reply_lines_throw(string line)
    {
        Assert.That(() => ReplyReader.ParseLine(Encoding.ASCII.GetBytes(line), out _), Throws.InstanceOf<IOException>());
    }

    [Test]
    public void Ttls_are_rounded_up_padded_by_a_second_and_absolute_beyond_thirty_days()
    {
        var now = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var far = now.AddDays(400).AddMilliseconds(300);

        using (Assert.EnterMultipleScope())
        {
            Assert.That(MemcachedSessionBackend.TtlFor(now.AddSeconds(10), now), Is.EqualTo(11));
            Assert.That(MemcachedSessionBackend.TtlFor(now.AddMilliseconds(1), now), Is.EqualTo(2));
            Assert.That(MemcachedSessionBackend.TtlFor(now.AddDays(30).AddSeconds(-1), now), Is.EqualTo((30 * 86400) - 1 + 1));
            Assert.That(MemcachedSessionBackend.TtlFor(far, now), Is.EqualTo(far.ToUnixTimeSeconds() + 2), "400 days: an absolute Unix time");
        }
    }

    private static string Line(MetaRequest request)
    {
        var buffer = new byte[MetaCommandWriter.MaxLineLength];
        return Encoding.ASCII.GetString(buffer, 0, MetaCommandWriter.WriteLine(request, buffer));
    }
}

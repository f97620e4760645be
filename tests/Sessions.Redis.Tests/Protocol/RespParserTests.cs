using System.Buffers;
using System.Text;
using NUnit.Framework;
using Sessions.Redis.Protocol;

namespace Sessions.Redis.Tests.Protocol;

/// <summary>The parser on hand-written replies: every RESP3 type reads as what the same command answers in RESP2.</summary>
[TestFixture]
public sealed class RespParserTests
{
    [Test]
    public void A_RESP3_null_reads_as_nil()
    {
        Assert.That(ParseOne("_\r\n").IsNull, Is.True);
        Assert.That(ParseOne("$-1\r\n").IsNull, Is.True, "the RESP2 nil bulk string, for comparison");
    }

    [TestCase("#t\r\n", 1)]
    [TestCase("#f\r\n", 0)]
    public void A_RESP3_boolean_reads_as_the_integer_RESP2_sends(string wire, long expected)
    {
        var value = ParseOne(wire);

        Assert.That(value.Type, Is.EqualTo(RespType.Integer));
        Assert.That(value.AsInt64(), Is.EqualTo(expected));
    }

    [TestCase(",1.5\r\n", "1.5")]
    [TestCase(",-inf\r\n", "-inf")]
    [TestCase(",1e+300\r\n", "1e+300")]
    public void A_RESP3_double_reads_as_the_bulk_string_RESP2_sends(string wire, string expected)
    {
        var value = ParseOne(wire);

        Assert.That(value.Type, Is.EqualTo(RespType.BulkString));
        Assert.That(value.AsString(), Is.EqualTo(expected));
    }

    [Test]
    public void A_RESP3_big_number_reads_as_a_bulk_string_of_its_digits()
    {
        var value = ParseOne("(3492890328409238509324850943850943825024385\r\n");

        Assert.That(value.Type, Is.EqualTo(RespType.BulkString));
        Assert.That(value.AsString(), Is.EqualTo("3492890328409238509324850943850943825024385"));
        Assert.That(ParseOne("(42\r\n").AsInt64(), Is.EqualTo(42), "a big number that fits reads as an integer");
    }

    [Test]
    public void A_RESP3_verbatim_string_reads_as_a_bulk_string_without_its_format()
    {
        var value = ParseOne("=15\r\ntxt:Some string\r\n");

        Assert.That(value.Type, Is.EqualTo(RespType.BulkString));
        Assert.That(value.AsString(), Is.EqualTo("Some string"));
        Assert.That(ParseOne("=4\r\nmkd:\r\n").AsString(), Is.Empty);
        Assert.Throws<RedisProtocolException>(() => ParseOne("=3\r\ntxt\r\n"), "shorter than its format");
        Assert.Throws<RedisProtocolException>(() => ParseOne("=6\r\ntxtxyz\r\n"), "no colon after the format");
    }

    [Test]
    public void A_RESP3_blob_error_reads_as_an_error_with_its_text()
    {
        var value = ParseOne("!21\r\nSYNTAX invalid syntax\r\n");

        Assert.That(value.IsError, Is.True);
        Assert.That(value.AsString(), Is.EqualTo("SYNTAX invalid syntax"));
    }

    [Test]
    public void A_RESP3_map_reads_as_the_flat_array_of_keys_and_values_RESP2_sends()
    {
        var value = ParseOne("%2\r\n+first\r\n:1\r\n$6\r\nsecond\r\n_\r\n");

        Assert.That(value.Type, Is.EqualTo(RespType.Array));
        Assert.That(Render(value), Is.EqualTo(Render(ParseOne("*4\r\n+first\r\n:1\r\n$6\r\nsecond\r\n$-1\r\n"))));
    }

    [Test]
    public void A_RESP3_set_reads_as_an_array()
    {
        var value = ParseOne("~3\r\n+a\r\n:2\r\n#t\r\n");

        Assert.That(value.Type, Is.EqualTo(RespType.Array));
        Assert.That(Render(value), Is.EqualTo("[a, 2, 1]"));
    }

    [Test]
    public void A_RESP3_attribute_is_skipped_and_the_reply_it_annotates_returned()
    {
        var (values, consumed) = ParseAll("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.1923\r\n*2\r\n:2039123\r\n:9543892\r\n+OK\r\n");

        Assert.That(values.Select(Render), Is.EqualTo(new[] { "[2039123, 9543892]", "OK" }));
        Assert.That(consumed, Is.True);
    }

    [Test]
    public void A_RESP3_push_is_marked_as_a_push_not_as_an_array()
    {
        var value = ParseOne(">3\r\n$7\r\nmessage\r\n$7\r\nchannel\r\n$5\r\nhello\r\n");

        Assert.That(value.Type, Is.EqualTo(RespType.Push));
        Assert.That(Render(value), Is.EqualTo("push[\"message\", \"channel\", \"hello\"]"));
    }

    [Test]
    public void Pushes_interleaved_with_replies_are_parsed_in_order_and_kept_apart()
    {
        var (values, _) = ParseAll(">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n$3\r\none\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n:2\r\n");

        Assert.That(values.Select(v => v.Type), Is.EqualTo(new[] { RespType.Push, RespType.BulkString, RespType.Push, RespType.Integer }));
    }

    [Test]
    public void Every_RESP3_type_cut_anywhere_asks_for_more_bytes_and_then_parses_whole()
    {
        const string wire = "_\r\n#t\r\n,1.5\r\n(12345678901234567890\r\n=8\r\ntxt:text\r\n%1\r\n+k\r\n~1\r\n:1\r\n|1\r\n+a\r\n+b\r\n+c\r\n>1\r\n+p\r\n!3\r\nERR\r\n";
        var bytes = Encoding.ASCII.GetBytes(wire);
        var (whole, _) = ParseAll(wire);
        Assert.That(whole.Select(Render), Is.EqualTo(new[] { "nil", "1", "\"1.5\"", "\"12345678901234567890\"", "\"text\"", "[k, [1]]", "c", "push[p]", "error ERR" }));

        for (var cut = 1; cut < bytes.Length; cut++)
        {
            // The first segment ends at the cut: what was parsed before it must not change, and the rest must parse after it.
            var sequence = TwoSegments(bytes.AsSpan(0, cut).ToArray(), bytes.AsSpan(cut).ToArray());
            var reader = new SequenceReader<byte>(sequence);
            var values = new List<string>();
            while (RespParser.TryParse(ref reader, out var value))
            {
                values.Add(Render(value));
            }

            Assert.That(values, Is.EqualTo(whole.Select(Render)), $"cut at byte {cut}");
            Assert.That(reader.End, Is.True, $"cut at byte {cut}");

            var partial = new SequenceReader<byte>(new ReadOnlySequence<byte>(bytes, 0, cut));
            var count = 0;
            while (RespParser.TryParse(ref partial, out _))
            {
                count++;
            }

            Assert.That(count, Is.LessThan(whole.Count), $"a buffer cut at byte {cut} cannot hold every reply");
        }
    }

    [TestCase("#x\r\n")]
    [TestCase("#tt\r\n")]
    [TestCase("_x\r\n")]
    [TestCase("*?\r\n")]
    public void Malformed_RESP3_is_a_protocol_error(string wire) =>
        Assert.Throws<RedisProtocolException>(() => ParseOne(wire));

    private static RespValue ParseOne(string wire)
    {
        var (values, consumed) = ParseAll(wire);
        Assert.That(values, Has.Count.EqualTo(1), $"replies in {wire.ReplaceLineEndings("\\r\\n")}");
        Assert.That(consumed, Is.True, "the whole reply was consumed");
        return values[0];
    }

    private static (List<RespValue> Values, bool Consumed) ParseAll(string wire)
    {
        var reader = new SequenceReader<byte>(new ReadOnlySequence<byte>(Encoding.ASCII.GetBytes(wire)));
        var values = new List<RespValue>();
        while (RespParser.TryParse(ref reader, out var value))
        {
            values.Add(value);
        }

        return (values, reader.End);
    }

    /// <summary>A reply as text: simple strings bare, bulk strings quoted, so that a RESP3 type folded into the wrong RESP2
    /// type shows.</summary>
    internal static string Render(RespValue value) => value.Type switch
    {
        RespType.BulkString => $"\"{value.AsString()}\"",
        RespType.Null => "nil",
        RespType.Integer => value.Integer.ToString(System.Globalization.CultureInfo.InvariantCulture),
        RespType.Error => "error " + value.AsString(),
        RespType.Array => "[" + string.Join(", ", value.Items!.Select(Render)) + "]",
        RespType.Push => "push[" + string.Join(", ", value.Items!.Select(Render)) + "]",
        _ => value.AsString()!,
    };

    private static ReadOnlySequence<byte> TwoSegments(byte[] first, byte[] second)
    {
        var head = new Segment(first, 0);
        var tail = head.Append(second);
        return new ReadOnlySequence<byte>(head, 0, tail, second.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

using System.Buffers.Text;
using System.Numerics;
using NUnit.Framework;
using Sessions.Ids;

namespace Sessions.Core.Tests.Ids;

public sealed class SessionIdGeneratorTests
{
    [Test]
    public void Default_ids_are_43_characters_of_unpadded_base64url()
    {
        var generator = new SessionIdGenerator();

        for (var i = 0; i < 1000; i++)
        {
            var id = generator.CreateId();
            Assert.That(id, Does.Match("^[A-Za-z0-9_-]{43}$"));
        }

        Assert.That(generator.IdLength, Is.EqualTo(43));
    }

    [Test]
    public void Default_ids_decode_to_32_random_bytes()
    {
        var id = new SessionIdGenerator().CreateId();

        Assert.That(Base64Url.DecodeFromChars(id), Has.Length.EqualTo(SessionIdGenerator.DefaultIdLengthBytes));
    }

    [Test]
    public void Ten_thousand_ids_are_all_distinct()
    {
        var generator = new SessionIdGenerator();

        var ids = Enumerable.Range(0, 10_000).Select(_ => generator.CreateId()).ToHashSet(StringComparer.Ordinal);

        Assert.That(ids, Has.Count.EqualTo(10_000));
    }

    [TestCase(16, 22)]
    [TestCase(32, 43)]
    [TestCase(33, 44)]
    [TestCase(64, 86)]
    [TestCase(128, 171)]
    public void Id_length_follows_the_number_of_random_bytes(int bytes, int chars)
    {
        var generator = new SessionIdGenerator(bytes);

        var id = generator.CreateId();

        Assert.That(id, Has.Length.EqualTo(chars));
        Assert.That(generator.IdLength, Is.EqualTo(chars));
        Assert.That(Base64Url.DecodeFromChars(id), Has.Length.EqualTo(bytes));
        Assert.That(generator.IsWellFormed(id), Is.True);
    }

    [TestCase(15)]
    [TestCase(0)]
    [TestCase(-1)]
    [TestCase(129)]
    public void Fewer_than_16_or_more_than_128_bytes_are_refused(int bytes)
    {
        Assert.That(() => new SessionIdGenerator(bytes), Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public void Is_well_formed_accepts_every_id_the_generator_creates()
    {
        var generator = new SessionIdGenerator();

        var rejected = Enumerable.Range(0, 1000).Select(_ => generator.CreateId()).Where(id => !generator.IsWellFormed(id)).ToList();

        Assert.That(rejected, Is.Empty);
    }

    [Test]
    public void Is_well_formed_accepts_every_base64url_character()
    {
        var generator = new SessionIdGenerator();
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        var rejected = alphabet.Where(c => !generator.IsWellFormed(new string(c, 43))).ToList();

        Assert.That(rejected, Is.Empty);
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(42)]
    [TestCase(44)]
    [TestCase(86)]
    public void Is_well_formed_rejects_the_wrong_length(int length)
    {
        Assert.That(new SessionIdGenerator().IsWellFormed(new string('A', length)), Is.False);
    }

    [TestCase('+')]
    [TestCase('/')]
    [TestCase('=')]
    [TestCase('.')]
    [TestCase(' ')]
    [TestCase('\t')]
    [TestCase('\0')]
    [TestCase(':')]
    [TestCase('é')]
    [TestCase('٣')] // Arabic-Indic digit three: a digit, but not an ASCII one
    [TestCase('Ａ')] // fullwidth A
    [TestCase('\uD83D')] // half of a surrogate pair
    public void Is_well_formed_rejects_a_character_outside_base64url_at_any_position(char bad)
    {
        var generator = new SessionIdGenerator();
        var id = generator.CreateId();

        var accepted = Enumerable.Range(0, id.Length)
            .Where(i => generator.IsWellFormed(string.Concat(id.AsSpan(0, i), bad.ToString(), id.AsSpan(i + 1))))
            .ToList();

        Assert.That(accepted, Is.Empty, "positions where the bad character was accepted");
    }

    [Test]
    public void Ids_are_balanced_between_zero_and_one_bits()
    {
        var generator = new SessionIdGenerator();
        long ones = 0;
        long bits = 0;

        for (var i = 0; i < 1000; i++)
        {
            foreach (var b in Base64Url.DecodeFromChars(generator.CreateId()))
            {
                ones += BitOperations.PopCount(b);
                bits += 8;
            }
        }

        Assert.That((double)ones / bits, Is.InRange(0.48, 0.52));
    }

    [Test]
    public void Every_byte_position_of_an_id_varies()
    {
        // A generator that left some bytes fixed (a counter, a zeroed tail) would pass the overall balance check.
        var generator = new SessionIdGenerator();
        var samples = Enumerable.Range(0, 200).Select(_ => Base64Url.DecodeFromChars(generator.CreateId())).ToList();

        var constantPositions = Enumerable.Range(0, SessionIdGenerator.DefaultIdLengthBytes)
            .Where(position => samples.Select(s => s[position]).Distinct().Count() < 100)
            .ToList();

        Assert.That(constantPositions, Is.Empty);
    }
}

using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using Sessions.Ids;

namespace Sessions.Core.Tests.Ids;

public sealed class HmacSessionIdProtectorTests
{
    private const string Base64UrlAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    private static readonly byte[] s_oldKey = Key(1);
    private static readonly byte[] s_newKey = Key(2);

    private readonly string _id = new SessionIdGenerator().CreateId();

    [Test]
    public void Protected_id_round_trips()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);

        var ok = protector.TryUnprotect(protector.Protect(_id), out var id);

        Assert.That(ok, Is.True);
        Assert.That(id, Is.EqualTo(_id));
    }

    [Test]
    public void Protected_value_is_the_id_a_dot_and_43_characters_of_base64url_mac()
    {
        var value = new HmacSessionIdProtector([s_oldKey]).Protect(_id);

        Assert.That(value, Does.Match("^" + _id + @"\.[A-Za-z0-9_-]{43}$"));
    }

    [Test]
    public void Mac_is_hmac_sha256_of_the_utf8_id_under_the_first_key()
    {
        var value = new HmacSessionIdProtector([s_newKey, s_oldKey]).Protect(_id);

        var expected = Base64Url.EncodeToString(HMACSHA256.HashData(s_newKey, Encoding.UTF8.GetBytes(_id)));
        Assert.That(value, Is.EqualTo(_id + "." + expected));
    }

    [Test]
    public void Protect_is_deterministic_and_differs_between_ids()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);
        var other = new SessionIdGenerator().CreateId();

        var first = protector.Protect(_id);
        var second = protector.Protect(_id);

        Assert.That(second, Is.EqualTo(first));
        Assert.That(Mac(protector.Protect(_id)), Is.Not.EqualTo(Mac(protector.Protect(other))));
    }

    [Test]
    public void Changing_any_character_of_the_id_fails_verification()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);
        var value = protector.Protect(_id);

        var accepted = new List<string>();
        for (var i = 0; i < _id.Length; i++)
        {
            foreach (var replacement in new[] { 'A', 'a', '0', '-', '_' }.Where(c => c != value[i]))
            {
                var tampered = Replace(value, i, replacement);
                if (protector.TryUnprotect(tampered, out _))
                {
                    accepted.Add(tampered);
                }
            }
        }

        Assert.That(accepted, Is.Empty);
    }

    [Test]
    public void Changing_any_character_of_the_mac_to_any_other_base64url_character_fails_verification()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);
        var value = protector.Protect(_id);
        var macStart = _id.Length + 1;

        var accepted = new List<string>();
        for (var i = macStart; i < value.Length; i++)
        {
            foreach (var replacement in Base64UrlAlphabet.Where(c => c != value[i]))
            {
                var tampered = Replace(value, i, replacement);
                if (protector.TryUnprotect(tampered, out _))
                {
                    accepted.Add(tampered);
                }
            }
        }

        Assert.That(accepted, Is.Empty, $"tampered forms of {value} that verified");
    }

    [Test]
    public void Changing_the_dot_fails_verification()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);
        var value = protector.Protect(_id);

        Assert.That(protector.TryUnprotect(Replace(value, _id.Length, '_'), out _), Is.False);
        Assert.That(protector.TryUnprotect(Replace(value, _id.Length, ','), out _), Is.False);
    }

    [Test]
    public void Malformed_values_fail_without_throwing()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);
        var value = protector.Protect(_id);
        var mac = Mac(value);

        string[] malformed =
        [
            "",
            ".",
            "..",
            _id,
            mac,
            "." + mac,
            _id + ".",
            _id + mac,
            value[..^1],
            value[..^10],
            value + "A",
            value + ".",
            value + "." + mac,
            "x." + value,
            _id + "." + _id + "." + mac,
            _id + ".." + mac,
            value + "=",
            _id + "." + mac[..^1] + "=",
            _id + "." + mac.Replace('-', '+').Replace('_', '/') + "+/",
            " " + value,
            value + " ",
            _id + "." + new string('A', 43),
            _id + "." + new string('é', 43),
            new string('a', 100_000),
            new string('a', 100_000) + "." + mac,
            _id + "." + new string('A', 100_000),
            new string('.', 100_000),
            new string('é', 600) + "." + mac,
        ];

        var accepted = malformed.Where(m => protector.TryUnprotect(m, out _)).ToList();

        Assert.That(accepted, Is.Empty);
    }

    [Test]
    public void Failed_verification_leaves_the_id_null()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);

        Assert.That(protector.TryUnprotect(_id + "." + new string('A', 43), out var id), Is.False);
        Assert.That(id, Is.Null);
    }

    [Test]
    public void Ids_that_are_not_generated_ones_can_still_be_signed_up_to_512_characters()
    {
        var protector = new HmacSessionIdProtector([s_oldKey]);

        foreach (var id in new[] { "a", "ключ-🔑", new string('x', 512), new string('é', 512) })
        {
            Assert.That(protector.TryUnprotect(protector.Protect(id), out var back), Is.True);
            Assert.That(back, Is.EqualTo(id));
        }
    }

    [TestCase("")]
    [TestCase("a.b")]
    public void Protect_refuses_an_empty_id_or_one_with_a_dot(string id)
    {
        Assert.That(() => new HmacSessionIdProtector([s_oldKey]).Protect(id), Throws.InstanceOf<ArgumentException>());
    }

    [Test]
    public void Protect_refuses_an_id_longer_than_512_characters()
    {
        Assert.That(() => new HmacSessionIdProtector([s_oldKey]).Protect(new string('x', 513)), Throws.ArgumentException);
    }

    [Test]
    public void A_value_signed_with_the_old_key_verifies_after_a_new_key_is_rotated_in_front()
    {
        var before = new HmacSessionIdProtector([s_oldKey]).Protect(_id);
        var afterRotation = new HmacSessionIdProtector([s_newKey, s_oldKey]);

        Assert.That(afterRotation.TryUnprotect(before, out var id), Is.True);
        Assert.That(id, Is.EqualTo(_id));
    }

    [Test]
    public void After_rotation_new_values_are_signed_with_the_new_key()
    {
        var afterRotation = new HmacSessionIdProtector([s_newKey, s_oldKey]);
        var value = afterRotation.Protect(_id);

        Assert.That(new HmacSessionIdProtector([s_oldKey]).TryUnprotect(value, out _), Is.False);
        Assert.That(new HmacSessionIdProtector([s_newKey]).TryUnprotect(value, out _), Is.True);
    }

    [Test]
    public void A_value_signed_with_a_key_outside_the_ring_fails()
    {
        var value = new HmacSessionIdProtector([Key(3)]).Protect(_id);

        Assert.That(new HmacSessionIdProtector([s_newKey, s_oldKey]).TryUnprotect(value, out _), Is.False);
    }

    [Test]
    public void A_retired_key_no_longer_verifies()
    {
        var value = new HmacSessionIdProtector([s_oldKey]).Protect(_id);

        Assert.That(new HmacSessionIdProtector([s_newKey]).TryUnprotect(value, out _), Is.False);
    }

    [Test]
    public void Changing_the_callers_key_array_afterwards_does_not_change_the_ring()
    {
        var key = Key(4);
        var protector = new HmacSessionIdProtector([key]);
        var value = protector.Protect(_id);

        key[0] ^= 0xFF;

        Assert.That(protector.TryUnprotect(value, out _), Is.True);
    }

    [TestCase(0)]
    [TestCase(16)]
    [TestCase(31)]
    public void Keys_shorter_than_32_bytes_are_refused(int length)
    {
        Assert.That(() => new HmacSessionIdProtector([s_oldKey, new byte[length]]), Throws.ArgumentException.With.Message.Contains("32"));
    }

    [Test]
    public void A_32_byte_key_is_accepted()
    {
        Assert.That(() => new HmacSessionIdProtector([new byte[32]]), Throws.Nothing);
    }

    [Test]
    public void An_empty_key_ring_is_refused()
    {
        Assert.That(() => new HmacSessionIdProtector([]), Throws.ArgumentException);
    }

    [Test]
    public void Decode_key_accepts_base64_with_padding_and_the_url_alphabet()
    {
        var key = new byte[33];
        for (var i = 0; i < key.Length; i++)
        {
            key[i] = (byte)(0xF8 + i); // high bytes, so the encodings contain '+' and '/' (or '-' and '_')
        }

        var base64 = Convert.ToBase64String(key);
        var base64Url = Base64Url.EncodeToString(key);
        Assert.That(base64, Does.Contain("+").Or.Contain("/"));
        Assert.That(base64Url, Does.Contain("-").Or.Contain("_"));

        Assert.That(HmacSessionIdProtector.DecodeKey(base64), Is.EqualTo(key));
        Assert.That(HmacSessionIdProtector.DecodeKey(base64Url), Is.EqualTo(key));
        Assert.That(HmacSessionIdProtector.DecodeKey("  " + base64 + "\n"), Is.EqualTo(key));
    }

    [Test]
    public void Decode_key_accepts_unpadded_base64url_of_32_bytes()
    {
        var key = Key(5);
        var encoded = Base64Url.EncodeToString(key);
        Assert.That(encoded, Has.Length.EqualTo(43));

        Assert.That(HmacSessionIdProtector.DecodeKey(encoded), Is.EqualTo(key));
    }

    [TestCase("not a key!")]
    [TestCase("%%%%")]
    [TestCase("abc$def")]
    [TestCase("A")]
    [TestCase("ab+cd_ef")]
    public void Decode_key_rejects_text_that_is_neither_base64_nor_base64url(string garbage)
    {
        Assert.That(HmacSessionIdProtector.DecodeKey(garbage), Is.Null);
    }

    private static byte[] Key(byte seed) => [.. Enumerable.Range(0, 32).Select(i => (byte)(seed * 31 + i))];

    private static string Mac(string value) => value[(value.LastIndexOf('.') + 1)..];

    private static string Replace(string value, int index, char replacement) =>
        string.Concat(value.AsSpan(0, index), replacement.ToString(), value.AsSpan(index + 1));
}

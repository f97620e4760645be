using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using NUnit.Framework;
using Sessions.Backends;
using Sessions.Engine;
using Sessions.Ids;

namespace Sessions.Core.Tests.Engine;

/// <summary>How session and user IDs become storage keys (<see cref="SessionKeyBuilder"/>).</summary>
public sealed class SessionKeyBuilderTests
{
    private const string Prefix = "app:";

    private readonly string _id = new SessionIdGenerator().CreateId();

    [Test]
    public void Hashed_session_key_is_the_prefix_and_43_characters_of_base64url()
    {
        var key = new SessionKeyBuilder(Prefix, hashIdsAtRest: true).ForSession(_id);

        Assert.That(key, Does.Match("^app:[A-Za-z0-9_-]{43}$"));
        Assert.That(SessionKeys.IsValid(key), Is.True);
    }

    [Test]
    public void Hashed_session_key_is_base64url_of_sha256_of_the_utf8_id()
    {
        var key = new SessionKeyBuilder(Prefix, hashIdsAtRest: true).ForSession(_id);

        Assert.That(key, Is.EqualTo(Prefix + Sha256(_id)));
    }

    [Test]
    public void Hashed_session_key_is_deterministic_across_builders()
    {
        Assert.That(
            new SessionKeyBuilder(Prefix, true).ForSession(_id),
            Is.EqualTo(new SessionKeyBuilder(Prefix, true).ForSession(_id)));
    }

    [Test]
    public void Different_ids_get_different_hashed_keys()
    {
        var builder = new SessionKeyBuilder(Prefix, true);
        var generator = new SessionIdGenerator();

        var keys = Enumerable.Range(0, 1000).Select(_ => builder.ForSession(generator.CreateId())).ToHashSet(StringComparer.Ordinal);

        Assert.That(keys, Has.Count.EqualTo(1000));
        Assert.That(builder.ForSession("a"), Is.Not.EqualTo(builder.ForSession("b")));
    }

    [Test]
    public void Hashed_session_key_holds_no_trace_of_the_raw_id()
    {
        var key = new SessionKeyBuilder(Prefix, true).ForSession(_id)!;
        var hashPart = key[Prefix.Length..];

        // No run of 8 characters of the ID appears in the key.
        var leaks = Enumerable.Range(0, _id.Length - 7).Select(i => _id.Substring(i, 8)).Where(part => hashPart.Contains(part, StringComparison.Ordinal)).ToList();

        Assert.That(key, Does.Not.Contain(_id));
        Assert.That(leaks, Is.Empty);
    }

    [TestCase(1)]
    [TestCase(169)] // the longest ID hashed through the stack buffer (UTF-8 upper bound 3 × (n + 1) <= 512)
    [TestCase(170)] // the shortest hashed through the heap
    [TestCase(5000)]
    public void Hashed_session_key_is_the_same_hash_for_short_and_long_ids(int length)
    {
        var builder = new SessionKeyBuilder(Prefix, true);
        var ascii = new string('x', length);
        var unicode = new string('é', length);
        var emoji = string.Concat(Enumerable.Repeat("🔑", length));

        Assert.That(builder.ForSession(ascii), Is.EqualTo(Prefix + Sha256(ascii)));
        Assert.That(builder.ForSession(unicode), Is.EqualTo(Prefix + Sha256(unicode)));
        Assert.That(builder.ForSession(emoji), Is.EqualTo(Prefix + Sha256(emoji)));
    }

    [Test]
    public void Hashing_accepts_ids_that_raw_keys_cannot_hold()
    {
        var builder = new SessionKeyBuilder(Prefix, true);

        Assert.That(builder.ForSession("has space"), Does.Match("^app:[A-Za-z0-9_-]{43}$"));
        Assert.That(builder.ForSession(new string('x', 300)), Does.Match("^app:[A-Za-z0-9_-]{43}$"));
    }

    [Test]
    public void Raw_session_key_is_the_prefix_and_the_id()
    {
        Assert.That(new SessionKeyBuilder(Prefix, hashIdsAtRest: false).ForSession(_id), Is.EqualTo(Prefix + _id));
    }

    [TestCase("has space")]
    [TestCase("tab\there")]
    [TestCase("é")]
    [TestCase("line\nbreak")]
    public void Raw_session_key_is_null_for_an_id_that_is_not_printable_ascii(string id)
    {
        Assert.That(new SessionKeyBuilder(Prefix, false).ForSession(id), Is.Null);
    }

    [Test]
    public void Raw_session_key_is_null_when_prefix_and_id_exceed_250_characters()
    {
        var builder = new SessionKeyBuilder(Prefix, false);

        Assert.That(builder.ForSession(new string('x', 250 - Prefix.Length)), Has.Length.EqualTo(250));
        Assert.That(builder.ForSession(new string('x', 251 - Prefix.Length)), Is.Null);
    }

    [Test]
    public void User_key_is_the_prefix_then_u_colon_then_43_characters_of_hash()
    {
        var key = new SessionKeyBuilder(Prefix, true).ForUser("alice@example.com");

        Assert.That(key, Is.EqualTo(Prefix + "u:" + Sha256("alice@example.com")));
        Assert.That(key, Does.Match("^app:u:[A-Za-z0-9_-]{43}$"));
    }

    [Test]
    public void User_key_is_hashed_even_when_session_ids_are_not()
    {
        var key = new SessionKeyBuilder(Prefix, hashIdsAtRest: false).ForUser("alice@example.com");

        Assert.That(key, Is.EqualTo(Prefix + "u:" + Sha256("alice@example.com")));
        Assert.That(key, Does.Not.Contain("alice"));
    }

    [Test]
    public void Different_users_get_different_keys_and_a_user_key_never_equals_a_session_key()
    {
        var builder = new SessionKeyBuilder(Prefix, true);

        Assert.That(builder.ForUser("alice"), Is.Not.EqualTo(builder.ForUser("bob")));
        Assert.That(builder.ForUser("alice"), Is.Not.EqualTo(builder.ForSession("alice")));
    }

    [Test]
    public void An_empty_prefix_gives_bare_keys()
    {
        var builder = new SessionKeyBuilder("", true);

        Assert.That(builder.ForSession(_id), Is.EqualTo(Sha256(_id)));
        Assert.That(builder.ForUser("alice"), Is.EqualTo("u:" + Sha256("alice")));
        Assert.That(builder.Prefix, Is.Empty);
    }

    private static string Sha256(string value) => Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(value)));
}

using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Sessions.Envelope;

namespace Sessions.Core.Tests.Envelope;

/// <summary>An envelope generated for a property, printed readably when FsCheck reports a counterexample.</summary>
internal sealed record EnvelopeSample(SessionEnvelope Envelope)
{
    public override string ToString() => EnvelopeSamples.Describe(Envelope);
}

/// <summary>FsCheck generators of envelopes and bytes, and a structural comparison of envelopes.</summary>
internal static class EnvelopeSamples
{
    /// <summary>The earliest instant <see cref="DateTimeOffset"/> can hold, in Unix milliseconds (0001-01-01).</summary>
    public const long MinUnixMs = -62_135_596_800_000;

    /// <summary>The latest instant <see cref="DateTimeOffset"/> can hold at millisecond precision (9999-12-31T23:59:59.999).</summary>
    public const long MaxUnixMs = 253_402_300_799_999;

    /// <summary>Every byte value once, in order.</summary>
    public static readonly byte[] AllByteValues = [.. Enumerable.Range(0, 256).Select(i => (byte)i)];

    public static Gen<byte> Bytes { get; } = Gen.Choose(0, 255).Select(i => (byte)i);

    /// <summary>Any Unicode scalar value, weighted towards printable ASCII; never a lone surrogate.</summary>
    private static Gen<int> CodePoints { get; } = Gen.Frequency(
        (6, Gen.Choose(0x20, 0x7E)),
        (1, Gen.Choose(0x00, 0x1F)),
        (2, Gen.Choose(0x80, 0xD7FF)),
        (1, Gen.Choose(0xE000, 0xFFFF)),
        (1, Gen.Choose(0x10000, 0x10FFFF)));

    /// <summary>Well-formed strings: empty, ASCII, control characters, BMP and supplementary-plane characters.</summary>
    public static Gen<string> Strings { get; } = Gen.Frequency(
        (1, Gen.Elements("", "a", "name", "ключ", "🔑", "\0", "Straße")),
        (6, Gen.ArrayOf(CodePoints).Select(cps => string.Concat(cps.Select(char.ConvertFromUtf32)))));

    /// <summary>Values: arbitrary bytes, UTF-8 text (so the JSON string form is exercised), empty, and all 256 byte values.</summary>
    public static Gen<byte[]> Values { get; } = Gen.Frequency(
        (4, Gen.ArrayOf(Bytes)),
        (3, Strings.Select(Encoding.UTF8.GetBytes)),
        (1, Gen.Constant(Array.Empty<byte>())),
        (1, Gen.Constant(AllByteValues)));

    /// <summary>Unix milliseconds anywhere in the valid range, with the extremes and today's era favoured.</summary>
    public static Gen<long> Timestamps { get; } = Gen.Frequency(
        (1, Gen.Elements(MinUnixMs, MaxUnixMs, 0L, -1L, 1L)),
        (4, LongBetween(MinUnixMs, MaxUnixMs)),
        (4, LongBetween(1_500_000_000_000, 2_100_000_000_000)));

    /// <summary>
    /// No deadline, or one anywhere in the valid range except the Unix epoch itself: the binary layout writes
    /// "no deadline" as 0, so a deadline of exactly 1970-01-01T00:00:00Z is not representable (and never occurs).
    /// </summary>
    public static Gen<long?> Deadlines { get; } = Gen.Frequency(
        (1, Gen.Constant<long?>(null)),
        (3, Timestamps.Where(ms => ms != 0).Select(ms => (long?)ms)));

    public static Gen<string?> UserIds { get; } = Gen.Frequency(
        (1, Gen.Constant<string?>(null)),
        (2, Strings.Select(s => (string?)s)));

    public static Gen<Dictionary<string, byte[]>> Entries { get; } =
        Gen.ArrayOf(Gen.Zip(Strings, Values)).Select(pairs =>
        {
            var entries = new Dictionary<string, byte[]>(StringComparer.Ordinal);
            foreach (var (key, value) in pairs)
            {
                entries[key] = value;
            }

            return entries;
        });

    public static Gen<SessionEnvelope> Envelopes { get; } =
        from created in Timestamps
        from deadline in Deadlines
        from user in UserIds
        from persistent in Gen.Elements(true, false)
        from entries in Entries
        select new SessionEnvelope(
            DateTimeOffset.FromUnixTimeMilliseconds(created),
            deadline is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            user,
            persistent,
            entries);

    public static Arbitrary<EnvelopeSample> AnyEnvelope { get; } = Envelopes.Select(e => new EnvelopeSample(e)).ToArbitrary();

    /// <summary>Smaller envelopes, for properties that decode every prefix of an encoding.</summary>
    public static Arbitrary<EnvelopeSample> SmallEnvelope { get; } = Envelopes.Resize(12).Select(e => new EnvelopeSample(e)).ToArbitrary();

    /// <summary>A fixed envelope with a user, a deadline, text and binary values.</summary>
    public static SessionEnvelope Typical() => new(
        DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_123),
        DateTimeOffset.FromUnixTimeMilliseconds(1_700_086_400_123),
        "alice",
        isPersistent: true,
        new Dictionary<string, byte[]>(StringComparer.Ordinal)
        {
            ["name"] = "alice smith"u8.ToArray(),
            ["cart"] = [0, 1, 2, 0xFF],
            ["empty"] = [],
            [""] = "empty key"u8.ToArray(),
            ["ключ"] = "значение"u8.ToArray(),
        });

    public static bool SameEnvelope(SessionEnvelope expected, SessionEnvelope actual) =>
        expected.CreatedAt == actual.CreatedAt
        && expected.CreatedAt.ToUnixTimeMilliseconds() == actual.CreatedAt.ToUnixTimeMilliseconds()
        && expected.AbsoluteDeadline == actual.AbsoluteDeadline
        && string.Equals(expected.UserId, actual.UserId, StringComparison.Ordinal)
        && expected.IsPersistent == actual.IsPersistent
        && expected.Entries.Count == actual.Entries.Count
        && expected.Entries.All(e => actual.Entries.TryGetValue(e.Key, out var value) && value.AsSpan().SequenceEqual(e.Value));

    public static string Describe(SessionEnvelope envelope)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"created={envelope.CreatedAt.ToUnixTimeMilliseconds()} ");
        text.Append(CultureInfo.InvariantCulture, $"deadline={envelope.AbsoluteDeadline?.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture) ?? "none"} ");
        text.Append(CultureInfo.InvariantCulture, $"user={(envelope.UserId is null ? "none" : Escape(envelope.UserId))} ");
        text.Append(CultureInfo.InvariantCulture, $"persistent={envelope.IsPersistent} entries=[");
        foreach (var (key, value) in envelope.Entries)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Escape(key)}={Convert.ToHexString(value)}; ");
        }

        return text.Append(']').ToString();
    }

    private static string Escape(string value) =>
        string.Concat(value.Select(c => c is >= ' ' and <= '~' ? c.ToString() : $"\\u{(int)c:X4}"));

    private static Gen<long> LongBetween(long min, long max) =>
        from hi in Gen.Choose(0, (1 << 30) - 1)
        from lo in Gen.Choose(0, (1 << 30) - 1)
        select min + (long)((((ulong)(uint)hi << 30) | (uint)lo) % (ulong)(max - min + 1));
}

using System.Security.Cryptography;
using System.Text;

namespace Sessions.Redis;

/// <summary>
/// The Lua scripts that make a conditional write, a conditional delete and a touch one atomic round trip each, sent by
/// SHA-1 (<c>EVALSHA</c>) and by text after <c>NOSCRIPT</c>. They read the <see cref="Backends.SessionRecordHeader"/>:
/// versions are compared as the 8 raw bytes (Lua numbers are doubles and would round large versions); an expiry of "0"
/// means the new expiry has passed, so the record is deleted; a record whose header expiry has passed counts as absent.
/// </summary>
internal sealed class RedisScripts(string name, string text)
{
    // live: a record exists and its header expiry is after ARGV[1], the caller's clock (which also decides reads). The
    // expiry is decoded byte by byte: comparing binary strings in Lua follows the server's collation locale. PEXPIREAT,
    // not PX: a relative expiry would start when the command arrives and outlive the header's.
    private const string ReadHeader = """
        local h = redis.call('GETRANGE', KEYS[1], 0, 16)
        local live = false
        if #h == 17 then
          local e = 0
          for i = 10, 17 do e = e * 256 + string.byte(h, i) end
          live = e > tonumber(ARGV[1])
        end

        """;

    /// <summary>
    /// KEYS[1] record; ARGV[1] now (Unix ms); ARGV[2] condition: <c>w</c> (always), <c>a</c> (if absent) or <c>v</c> (if version);
    /// ARGV[3] expected version (8 bytes); ARGV[4] new value; ARGV[5] expiry (Unix ms, or 0 when it has passed). Returns 1 when written.
    /// </summary>
    public static readonly RedisScripts SetIf = new("the set script", ReadHeader + """
        if (ARGV[2] == 'a' and live) or (ARGV[2] == 'v' and (not live or string.sub(h, 2, 9) ~= ARGV[3])) then return 0 end
        if ARGV[5] == '0' then
          redis.call('DEL', KEYS[1])
        else
          redis.call('SET', KEYS[1], ARGV[4])
          redis.call('PEXPIREAT', KEYS[1], ARGV[5])
        end
        return 1
        """);

    /// <summary>KEYS[1] record; ARGV[1] now (Unix ms); ARGV[2] expected version (8 bytes), or empty for any. Returns 1 when a live record was deleted.</summary>
    public static readonly RedisScripts Remove = new("the remove script", ReadHeader + """
        if not live then
          if #h > 0 then redis.call('DEL', KEYS[1]) end
          return 0
        end
        if ARGV[2] ~= '' and string.sub(h, 2, 9) ~= ARGV[2] then return 0 end
        redis.call('DEL', KEYS[1])
        return 1
        """);

    /// <summary>KEYS[1] record; ARGV[1] now (Unix ms); ARGV[2] new expiry for the header (8 bytes); ARGV[3] the same expiry in Unix ms, or 0 when it has passed. Returns 1 when a live record was touched.</summary>
    public static readonly RedisScripts Touch = new("the touch script", ReadHeader + """
        if not live then return 0 end
        if ARGV[3] == '0' then return redis.call('DEL', KEYS[1]) end
        redis.call('SETRANGE', KEYS[1], 9, ARGV[2])
        redis.call('PEXPIREAT', KEYS[1], ARGV[3])
        return 1
        """);

    /// <summary>What failure messages call it.</summary>
    public string Name { get; } = name;

    public string Text { get; } = text.ReplaceLineEndings("\n");

    /// <summary>The SHA-1 of <see cref="Text"/>, as <c>EVALSHA</c> names the script.</summary>
    public byte[] Sha1 { get; } = SHA1.HashData(Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\n")));
}

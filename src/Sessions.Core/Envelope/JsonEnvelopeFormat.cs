using System.Text.Json;

namespace Sessions.Envelope;

/// <summary>
/// The JSON envelope, for people who want to read records with the store's own tools:
/// <code>{"v":1,"created":1700000000000,"deadline":null,"persistent":false,"user":"alice","data":{"name":"text","n":{"b64":"AAAAKg=="}}}</code>
/// A value that is valid UTF-8 without control characters is written as a JSON string; any other value as <c>{"b64": ...}</c>.
/// Timestamps are Unix milliseconds. The first byte, <c>{</c>, is the format byte. Non-ASCII text is written as UTF-8, not
/// escaped, so it stays readable (the JSON is never embedded in HTML).
/// </summary>
internal static class JsonEnvelopeFormat
{
    public const byte FormatByte = (byte)'{';
    private const int Version = 1;

    public static byte[] Encode(SessionEnvelope envelope)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, SkipValidation = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteNumber("v", Version);
            writer.WriteNumber("created", envelope.CreatedAt.ToUnixTimeMilliseconds());
            if (envelope.AbsoluteDeadline is { } deadline)
            {
                writer.WriteNumber("deadline", deadline.ToUnixTimeMilliseconds());
            }
            else
            {
                writer.WriteNull("deadline");
            }

            writer.WriteBoolean("persistent", envelope.IsPersistent);
            if (envelope.UserId is { } user)
            {
                writer.WriteString("user", user);
            }
            else
            {
                writer.WriteNull("user");
            }

            writer.WriteStartObject("data");
            foreach (var (key, value) in envelope.Entries)
            {
                if (IsPlainText(value))
                {
                    writer.WriteString(key, System.Text.Encoding.UTF8.GetString(value));
                }
                else
                {
                    writer.WriteStartObject(key);
                    writer.WriteBase64String("b64", value);
                    writer.WriteEndObject();
                }
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static bool TryDecode(ReadOnlySpan<byte> payload, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out SessionEnvelope? envelope)
    {
        envelope = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 4 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            int? version = null;
            long? created = null;
            long? deadline = null;
            bool? persistent = null;
            string? user = null;
            Dictionary<string, byte[]>? data = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                if (!seen.Add(name) || !reader.Read())
                {
                    return false;
                }

                switch (name)
                {
                    case "v" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var v):
                        version = v;
                        break;
                    case "created" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var c):
                        created = c;
                        break;
                    case "deadline" when reader.TokenType == JsonTokenType.Null:
                        break;
                    case "deadline" when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var d):
                        deadline = d;
                        break;
                    case "persistent" when reader.TokenType is JsonTokenType.True or JsonTokenType.False:
                        persistent = reader.GetBoolean();
                        break;
                    case "user" when reader.TokenType == JsonTokenType.Null:
                        break;
                    case "user" when reader.TokenType == JsonTokenType.String:
                        user = reader.GetString();
                        break;
                    case "data" when reader.TokenType == JsonTokenType.StartObject:
                        data = ReadData(ref reader);
                        if (data is null)
                        {
                            return false;
                        }

                        break;
                    default:
                        return false;
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject || reader.Read() || version != Version || created is null || persistent is null || data is null
                || !IsValidUnixMs(created.Value) || (deadline is { } dl && !IsValidUnixMs(dl)))
            {
                return false;
            }

            envelope = new SessionEnvelope(
                DateTimeOffset.FromUnixTimeMilliseconds(created.Value),
                deadline is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
                user,
                persistent.Value,
                data);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false; // e.g. a string with invalid UTF-8 or unpaired surrogates
        }
        catch (FormatException)
        {
            return false; // bad base64
        }
    }

    private static Dictionary<string, byte[]>? ReadData(ref Utf8JsonReader reader)
    {
        var data = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var key = reader.GetString()!;
            if (!reader.Read())
            {
                return null;
            }

            byte[] value;
            if (reader.TokenType == JsonTokenType.String)
            {
                var text = reader.GetString()!;
                if (!IsWellFormedUtf16(text))
                {
                    return null;
                }

                value = System.Text.Encoding.UTF8.GetBytes(text);
                if (!IsPlainText(value))
                {
                    return null; // the writer never emits such a string; refuse so each record has one meaning
                }
            }
            else if (reader.TokenType == JsonTokenType.StartObject
                && reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("b64"u8)
                && reader.Read() && reader.TokenType == JsonTokenType.String)
            {
                value = reader.GetBytesFromBase64();
                if (!reader.Read() || reader.TokenType != JsonTokenType.EndObject)
                {
                    return null;
                }
            }
            else
            {
                return null;
            }

            if (!IsWellFormedUtf16(key) || !data.TryAdd(key, value))
            {
                return null;
            }
        }

        return reader.TokenType == JsonTokenType.EndObject ? data : null;
    }

    private static bool IsPlainText(ReadOnlySpan<byte> value)
    {
        if (!System.Text.Unicode.Utf8.IsValid(value))
        {
            return false;
        }

        foreach (var b in value)
        {
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r'))
            {
                return false;
            }

            if (b == 0x7F)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsWellFormedUtf16(string value) => !ContainsLoneSurrogate(value);

    internal static bool ContainsLoneSurrogate(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return true;
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsValidUnixMs(long ms) => ms is >= -62_135_596_800_000 and <= 253_402_300_799_999;
}
